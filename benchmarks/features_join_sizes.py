"""Why features are linear in as-of dates: rows of the grade join before the date filter, with the
pupil-only join of Vigie up to this change ("old") and the (pupil, school year) join of
features/signals/definitions.py ("new"), against the rows kept (dated <= D, this year or the
one before). Needs an extract in validated form: python benchmarks/features_join_sizes.py DIR
(e.g. one made by benchmarks/_prepare.prepare). Prints one JSON line per number of dates."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def main() -> None:
    import ibis

    from features.signals import population as pop
    from features.signals.build import load_tables
    from features.signals.engines import connect

    folder = Path(sys.argv[1])
    every = sorted(d for y in range(2017, 2024) for d in (date(y, 12, 15), date(y + 1, 3, 31), date(y + 1, 6, 15)))
    for n in (1, 3, 9, 18):
        days = every[-n:]
        con = connect("duckdb")
        t, _span = load_tables(con, folder, days)
        base = pop.population(t, ibis.memtable({"as_of": days}))
        b = base.select("pupil_id", "as_of", "year_start", "school_year")
        old = t.grades.join(b, "pupil_id").count()
        reads = ibis.union(*(b.mutate(_year=(b.school_year - k).cast("int32")) for k in range(2)))
        dated = t.grades.mutate(_year=pop.school_year_of(t.grades.date).cast("int32"))
        joined = dated.join(reads, ["pupil_id", "_year"])
        kept = joined.filter(joined.date <= joined.as_of).count()
        print(json.dumps({"dates": n, "grade_join_rows_old": int(con.execute(old)),
                          "grade_join_rows_new": int(con.execute(joined.count())),
                          "grade_rows_kept": int(con.execute(kept))}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
