"""A few follow-up plans on the demo school, so that ``make demo`` shows the pages with plans:
open, in progress, overdue and closed ones, on its highest-risk pupils (demo data only)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from serving.api.plans import PlanIn, PlanStore, PlanUpdate
from serving.batch import history_dates, read_history_batch

#: (action, owner, days after the batch it started, weeks to review, final status, outcome)
DEMO_PLANS = (
    ("entretien_cpe", "cpe", 2, 6, "ouvert", None),
    ("contact_famille", "professeur_principal", -20, 6, "en_cours", None),
    ("saisine_gpds", "referent_decrochage", -30, 5, "ouvert", None),
    ("tutorat", "professeur_principal", -60, 6, "clos", "retour_assiduite"),
    ("amenagement_emploi_du_temps", "chef_etablissement", 5, 8, "en_cours", None),
)


def seed_demo_plans(store: PlanStore, history: Path, model_version: str, school_id: str) -> int:
    """Plans for the school's highest-risk pupils of the newest batch; how many were written."""
    store.delete_created_by("demo", school_id)  # seeding twice gives the same plans
    day: date = history_dates(history, model_version)[-1]
    scores, _ = read_history_batch(history, day, model_version)
    pupils = scores[scores["school_id"] == school_id].sort_values("risk", ascending=False)["pupil_id"]
    for pupil_id, (action, owner, offset, weeks, status, outcome) in zip(pupils, DEMO_PLANS, strict=False):
        start = day + timedelta(days=offset)
        new = PlanIn(action=action, owner=owner, start_date=start, review_date=start + timedelta(weeks=weeks))
        plan = store.create(str(pupil_id), school_id, new, "demo", start)
        if status != "ouvert":
            store.update(plan.id, PlanUpdate(status=status, outcome=outcome), "demo", start + timedelta(weeks=weeks))
    return min(len(pupils), len(DEMO_PLANS))
