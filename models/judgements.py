"""Staff judgement on a pupil's flag (AI Act art. 14(4)(b)-(d): awareness of automation bias,
the power to disregard or override the output), as every stage reads it.

Staff record, from fixed lists only (no free text), whether they agree with the flag, find it
not a concern (with the reason), or are concerned although the score is low. The service
writes the judgements (``serving.api.rights``) in its database; ``vigie monitor`` reads them
here and counts how often staff disagree, by tier, school and audit group: a model the staff
keep overruling is a finding. A judgement is never a model input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal, get_args

import pandas as pd
from sqlalchemy import Column, Date, DateTime, Index, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import make_url

from features.school import Tier

#: The verdicts, in the words of the pages.
VERDICTS: Final = {
    "accord": "D'accord avec le signalement",
    "pas_une_inquietude": "Pas une inquiétude",
    "inquietude_malgre_score": "Une inquiétude malgré un score bas",
}
Verdict = Literal["accord", "pas_une_inquietude", "inquietude_malgre_score"]
#: Why a flag is not a concern.
NOT_A_CONCERN: Final = {
    "situation_connue": "Situation connue et suivie",
    "absences_justifiees": "Absences justifiées a posteriori",
    "donnees_erronees": "Données erronées",
    "difficulte_passagere": "Difficulté passagère, déjà résolue",
    "depart_prevu": "Départ ou changement d'établissement prévu",
    "autre": "Autre raison professionnelle",
}
#: Why staff are concerned although the score is low.
CONCERN: Final = {
    "observations_equipe": "Observations de l'équipe éducative",
    "echange_eleve_famille": "Échange avec l'élève ou sa famille",
    "evolution_recente": "Évolution récente, pas encore dans les données",
    "autre": "Autre raison professionnelle",
}
Reason = Literal[
    "situation_connue", "absences_justifiees", "donnees_erronees", "difficulte_passagere", "depart_prevu",
    "observations_equipe", "echange_eleve_famille", "evolution_recente", "autre",
]  # fmt: skip
#: Each verdict, the tiers it may be given at and the reasons it takes (none: no reason).
VERDICT_TIERS: Final[dict[str, tuple[Tier, ...]]] = {
    "accord": ("high", "medium"),
    "pas_une_inquietude": ("high", "medium"),
    "inquietude_malgre_score": ("low",),
}
VERDICT_REASONS: Final[dict[str, dict[str, str]]] = {
    "accord": {},
    "pas_une_inquietude": NOT_A_CONCERN,
    "inquietude_malgre_score": CONCERN,
}
assert set(VERDICTS) == set(get_args(Verdict)) == set(VERDICT_TIERS) == set(VERDICT_REASONS)
assert set(NOT_A_CONCERN) | set(CONCERN) == set(get_args(Reason))


def verdicts_at(tier: str) -> list[str]:
    """The verdicts staff may give on a pupil of ``tier``, in the lists' order."""
    return [verdict for verdict, tiers in VERDICT_TIERS.items() if tier in tiers]


def disagrees(verdict: str) -> bool:
    """Whether a verdict overrules the model: every verdict but agreement."""
    return verdict != "accord"


def judgement_problem(verdict: str, reason: str | None, tier: str) -> str | None:
    """Why this judgement cannot be recorded at this tier (None when it can): the one rule of
    the API, the pages and the tests."""
    if tier not in VERDICT_TIERS[verdict]:
        return f"verdict {verdict!r} is for tiers {', '.join(VERDICT_TIERS[verdict])}, this pupil is {tier!r}"
    allowed = VERDICT_REASONS[verdict]
    if not allowed and reason is not None:
        return f"verdict {verdict!r} takes no reason"
    if allowed and reason not in allowed:
        return f"verdict {verdict!r} needs a reason among: {', '.join(allowed)}"
    return None


JUDGEMENTS_METADATA = MetaData()
JUDGEMENTS = Table(
    "judgements",
    JUDGEMENTS_METADATA,
    Column("id", String(32), primary_key=True),
    Column("pupil_id", String(32), nullable=False),
    Column("school_id", String(16), nullable=False),
    Column("as_of", Date, nullable=False),  # the batch judged
    Column("model_version", String(64), nullable=False),
    Column("tier", String(8), nullable=False),  # the tier judged, as the batch gave it
    Column("verdict", String(32), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Index("ix_judgements_pupil_id", "pupil_id"),
    Index("ix_judgements_school_as_of", "school_id", "as_of"),
)
#: The columns :func:`read_judgements` returns.
JUDGEMENT_COLUMNS: Final = (
    "pupil_id", "school_id", "as_of", "model_version", "tier", "verdict", "reason", "recorded_at",
)  # fmt: skip


def latest_judgements(frame: pd.DataFrame) -> pd.DataFrame:
    """The latest judgement of each pupil at each batch (a later one replaces an earlier one)."""
    if frame.empty:
        return frame
    ordered = frame.sort_values("recorded_at", kind="stable")
    return ordered.drop_duplicates(["pupil_id", "as_of"], keep="last").reset_index(drop=True)


def read_judgements(database_url: str, model_version: str, as_of: object) -> pd.DataFrame:
    """The latest judgement of each pupil on the batch of ``model_version`` at ``as_of``, from the
    service database (empty when the service never ran on it)."""
    empty = pd.DataFrame(columns=list(JUDGEMENT_COLUMNS))
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return empty
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, JUDGEMENTS.name):
                return empty
            query = select(*(JUDGEMENTS.c[c] for c in JUDGEMENT_COLUMNS)).where(
                JUDGEMENTS.c.model_version == model_version, JUDGEMENTS.c.as_of == as_of
            )
            frame = pd.DataFrame(connection.execute(query).all(), columns=list(JUDGEMENT_COLUMNS))
    finally:
        engine.dispose()
    return latest_judgements(frame)
