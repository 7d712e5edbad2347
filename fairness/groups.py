"""The groups an audit compares, read from the audit table: one text column per attribute or
intersection, keyed by identifier (``sex``, ``scholarship``...), missing where it does not apply.

Identifiers are what configs name; :data:`ATTRIBUTE_LABELS_FR` (in ``models/``, where the service
reads it too) is what reports show.
"""

from __future__ import annotations

from typing import Literal, get_args

import pandas as pd

from features.catalog import TRACK_LABELS_FR
from models.fairness_summary import ATTRIBUTE_LABELS_FR

AttributeId = Literal[
    "sex",
    "scholarship",
    "scholarship_band",
    "disability_plan",
    "priority_education",
    "allophone",
    "track",
    "sex_x_scholarship",
    "priority_education_x_plan",
]
ATTRIBUTES: tuple[AttributeId, ...] = get_args(AttributeId)


def attribute_label(attribute: str) -> str:
    """The French name of an attribute identifier (the identifier itself if unknown)."""
    return ATTRIBUTE_LABELS_FR.get(attribute, attribute)


def _scholarship_band(echelon: pd.Series) -> pd.Series:
    bands = pd.cut(echelon, bins=[-0.5, 0.5, 2.5, 4.5, 6.5], labels=["non boursier", "1-2", "3-4", "5-6"])
    return bands.astype(str).map(lambda b: b if b == "non boursier" else f"échelon {b}")


def audit_groups(audit: pd.DataFrame, track: pd.Series) -> pd.DataFrame:
    """Attributes and intersections as text columns aligned with ``audit``, one per identifier.

    REP and REP+ are networks of collèges, so priority education compares collège pupils only
    (lycée pupils, with other dropout rates, would otherwise stand in for "hors EP").
    """
    echelon = audit["scholarship"].fillna(0).astype(float)
    scholar = echelon.gt(0).map({True: "boursier", False: "non boursier"})
    plan = audit["disability_plan"].fillna("none").map(lambda v: "aucun plan" if v == "none" else v)
    college = track.to_numpy() == "college"
    priority = audit["priority_education"].fillna("none").map(lambda v: "hors EP" if v == "none" else v)
    priority = priority.where(college)
    allophone = audit["allophone"].map({True: "allophone", False: "non allophone"}).fillna("non renseigné")
    sex = audit["sex"].map({"F": "filles", "M": "garçons"})
    with_plan = plan.map(lambda v: "sans plan" if v == "aucun plan" else "avec plan")
    columns: dict[AttributeId, pd.Series] = {
        "sex": sex,
        "scholarship": scholar,
        "scholarship_band": _scholarship_band(echelon),
        "disability_plan": plan,
        "priority_education": priority,
        "allophone": allophone,
        "track": track.map(TRACK_LABELS_FR).fillna(track),
        "sex_x_scholarship": sex + " · " + scholar,
        "priority_education_x_plan": priority + " · " + with_plan,
    }
    return pd.DataFrame(columns, index=audit.index).astype("string")
