"""The groups an audit compares, read from the audit table: one text column per attribute or
intersection, French labels, missing where the attribute does not apply."""

from __future__ import annotations

import pandas as pd

TRACK_FR = {"college": "collège", "lycee_gt": "lycée GT", "lycee_pro": "lycée professionnel"}
PRIORITY = "éducation prioritaire (collèges)"


def _scholarship_band(echelon: pd.Series) -> pd.Series:
    bands = pd.cut(echelon, bins=[-0.5, 0.5, 2.5, 4.5, 6.5], labels=["non boursier", "1-2", "3-4", "5-6"])
    return bands.astype(str).map(lambda b: b if b == "non boursier" else f"échelon {b}")


def audit_groups(audit: pd.DataFrame, track: pd.Series) -> pd.DataFrame:
    """Attributes and intersections as text columns aligned with ``audit``.

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
    groups = pd.DataFrame(
        {
            "sexe": sex,
            "bourse": scholar,
            "échelon de bourse": _scholarship_band(echelon),
            "plan d'accompagnement": plan,
            PRIORITY: priority,
            "allophone": allophone,
            "voie": track.map(TRACK_FR).fillna(track),
            "sexe × bourse": sex + " · " + scholar,
            "éducation prioritaire × plan (collèges)": priority + " · " + with_plan,
        },
        index=audit.index,
    )
    return groups.astype("string")
