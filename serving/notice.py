"""The public notice of the algorithm (CRPA L312-1-3): the fields of the State's inventory of
public algorithms, filled from the registered version and from the deployer's file.

One function, :func:`build_notice`, makes it: ``vigie notice`` writes it (HTML and JSON) and the
service serves it without sign-in at ``/algorithme`` and ``/algorithme.json``. What only the
deployer knows (administration, contact, legal basis, scope, number of decisions, link to the
source code) comes from ``configs/notice.yaml``; what it leaves empty is printed as
:data:`TO_COMPLETE`, never guessed. The figures are the registry's
(:mod:`models.version_record`). Nothing about a pupil or a school is in it: counts and
figures of the version only.

The sentences that describe what Vigie does are written here once; the deployment dossier
(``serving/dossier.py``) reuses them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from features import french
from features.catalog import FAMILY_LABELS_FR, GRADE_LEVEL_LABELS_FR
from features.configfile import load_config_file
from models.fairness_summary import ATTRIBUTE_LABELS_FR
from models.metrics import metric_name
from models.version_record import VersionRecord

#: What the deployer must write: the same visible marker in the notice and in the dossier.
TO_COMPLETE: Final = "[À COMPLÉTER PAR LE DÉPLOYEUR]"
#: Where the service serves the notice (stable addresses, no sign-in).
NOTICE_PATH: Final = "/algorithme"
NOTICE_JSON_PATH: Final = "/algorithme.json"
NOTICE_VERSION: Final = 2
#: The licence of Vigie's source code.
LICENCE: Final = "EUPL-1.2 (licence publique de l'Union européenne)"
#: What a version trained on a simulated district says of itself, in plain French (page banner and JSON).
SYNTHETIC_WARNING: Final = (
    "Modèle entraîné sur des données synthétiques : cette version a été entraînée et évaluée sur un district "
    "simulé. Ses chiffres (données simulées) montrent que la chaîne fonctionne, pas ce qu'elle vaudrait sur de "
    "vrais élèves ; elle ne doit pas servir à repérer de vrais élèves."
)
#: Said after a date or figure measured on a simulated district.
SIMULATED: Final = " (données simulées)"
TEMPLATES = Path(__file__).parent / "pages" / "templates"


class NoticeConfig(BaseModel):
    """The deployer's part of the notice (``configs/notice.yaml``): each field left empty is
    printed as :data:`TO_COMPLETE`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    administration: str | None = Field(default=None, description="the administration (académie, rectorat)")
    service_name: str | None = Field(default=None, description="the service in charge of the processing")
    contact: str | None = Field(default=None, description="where to ask for the rules (CRPA L311-3-1)")
    data_protection_officer: str | None = Field(default=None, description="the DPO's contact (GDPR art. 37-39)")
    legal_basis: str | None = Field(default=None, description="the legal basis of the processing (GDPR art. 6(1)(e))")
    scope: str | None = Field(default=None, description="the schools concerned")
    decisions_per_year: str | None = Field(default=None, description="pupils scored and batches a year")
    pseudonymisation_key_keeper: str | None = Field(default=None, description="who keeps the HMAC key")
    source_code_url: str | None = Field(default=None, description="the project's public repository (its URL)")


def load_notice_config(path: Path | None) -> NoticeConfig:
    """The deployer's file, validated (errors name the file and the field); None: all to complete."""
    return load_config_file(NoticeConfig, path, None, "notice")


def filled(value: str | None) -> str:
    """A deployer's field as printed: its value, or the marker."""
    return value.strip() if value and value.strip() else TO_COMPLETE


class Figure(BaseModel):
    """One figure of the version, as the registry holds it, with its registry key."""

    model_config = ConfigDict(frozen=True)
    indicateur: str
    valeur: float | None
    affichage: str
    cle_registre: str


class GroupFigure(BaseModel):
    """A gap between groups of one audited attribute, with its interval."""

    model_config = ConfigDict(frozen=True)
    attribut: str
    indicateur: str
    valeur: float | None
    borne_basse: float | None
    borne_haute: float | None
    affichage: str


class Notice(BaseModel):
    """The fiche of the State's inventory of public algorithms, French keys as it names them."""

    model_config = ConfigDict(frozen=True)
    version_notice: int = NOTICE_VERSION
    administration: str
    service: str
    contact: str
    delegue_protection_donnees: str
    date_mise_a_jour: date
    nom: str
    version_modele: str
    contexte: str
    objectif: str
    intervention_dans_la_procedure: str
    niveau_automatisation: str
    base_legale: str
    nombre_decisions_par_an: str
    perimetre: str
    public_concerne: str
    donnees_utilisees: list[str]
    sources_et_collecte: list[str]
    donnees_non_utilisees: str
    type_algorithme: str
    operations: list[str]
    performances: list[Figure]
    periode_de_test: str
    lecture_performances: str
    equite: list[str]
    equite_par_groupe: list[GroupFigure]
    donnees_synthetiques: bool
    avertissement: str | None = Field(description="plain-French warning when trained on synthetic data")
    usages_exclus: str
    droits: list[str]
    code_source: str
    commit_code: str
    licence: str = LICENCE
    glossaire: list[tuple[str, str]]

    def as_json(self) -> str:
        """The JSON served at ``/algorithme.json`` and written by ``vigie notice``."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2)


# --- what Vigie does, written once (the notice and the dossier) ------------------------------

NAME: Final = "Vigie — repérage précoce du risque de décrochage scolaire"
CONTEXT: Final = (
    "Lutte contre le décrochage scolaire dans l'enseignement secondaire (contexte, et non base légale : "
    "action 16 du plan ministériel pour les données 2024-2027) : aider les équipes des collèges et lycées (CPE, "
    "professeurs principaux, chefs d'établissement, groupes de prévention du décrochage scolaire) "
    "à repérer tôt les élèves qui risquent de quitter l'école sans diplôme."
)
AUTOMATION: Final = (
    "Aide à la décision, sans aucune décision automatique : le score informe, une personne décide "
    "(RGPD, article 22). Aucune orientation, sanction, affectation ou aide n'est décidée par Vigie ; "
    "le score ne sert ni à la discipline ni à l'orientation (règlement européen sur l'IA, article "
    "5(1)(c)). L'équipe peut ne pas suivre le score et consigne ce qu'elle décide ; la part des cas où "
    "les personnels jugent autrement que le score est mesurée à chaque lot (taux de désaccord de "
    "« vigie monitor »), preuve que le regard humain s'exerce réellement."
)
#: What the score must never be used for (the notice, the instructions for use, the AIPD).
EXCLUDED_USES: Final = (
    "Le score ne doit pas être utilisé en conseil de classe, ni pour l'orientation, l'affectation ou la "
    "discipline d'un élève : il n'est pas conçu pour cela, et un tel usage ferait de Vigie un système à haut "
    "risque au sens du règlement européen sur l'IA (annexe III, point 3, éducation), avec les obligations qui "
    "s'y attachent. Il sert seulement à décider qui rencontrer en premier pour proposer un accompagnement."
)
SOURCES: Final = (
    "Inscriptions et parcours (SIECLE, le système d'information des collèges et lycées) : établissement, "
    "niveau, voie, redoublement, dates d'entrée et de sortie, mois et année de naissance (pour l'âge).",
    "Vie scolaire (logiciel de l'établissement) : absences et retards par demi-journée, motif recevable ou non, "
    "exclusions, incidents et punitions.",
    "Évaluations (LSU, le livret scolaire unique, et notes) : notes et moyennes par matière, avec leur date.",
    "Décrochages constatés (SIEI, le système interministériel d'échange d'informations sur les sorties sans "
    "diplôme) : pour l'entraînement et l'évaluation du modèle seulement, jamais pour calculer le score d'un élève.",
    "Pour les audits d'équité seulement, jamais pour calculer le score (SIECLE et établissement) : sexe, bourse "
    "et son échelon, plan d'accompagnement (PAP, PPS, ULIS), éducation prioritaire de l'établissement (REP, "
    "REP+), allophonie.",
    "Collecte : extraction périodique des systèmes d'information des établissements, pseudonymisée avant "
    "toute autre opération (l'INE, identifiant national de l'élève, est remplacé par un pseudonyme ; noms "
    "et prénoms retirés ; date de naissance réduite au mois et à l'année).",
)


def not_used_fr() -> str:
    """What the model never reads: the sensitive attributes, kept for the fairness audits only."""
    return (
        "Le sexe, la bourse et son échelon, le plan d'accompagnement (plan d'accompagnement personnalisé, PAP ; "
        "projet personnalisé de scolarisation, PPS ; unité localisée pour l'inclusion scolaire, ULIS), "
        "l'éducation prioritaire et "
        "l'allophonie ne sont pas des données du modèle : ils servent uniquement à vérifier qu'il traite "
        "les groupes d'élèves équitablement (audits d'équité). "
        "Les noms, les prénoms et l'INE ne parviennent jamais à Vigie ; de la date de naissance, seuls le mois et "
        "l'année lui parviennent (pour calculer l'âge). Les plans de suivi ne sont pas des données du modèle."
    )


def purpose_fr(record: VersionRecord) -> str:
    """The purpose, with the version's own horizon and high-tier share."""
    point = record.operating_point
    return (
        "Estimer, pour chaque élève inscrit à une date donnée, le risque de quitter le système scolaire sans "
        f"diplôme {point.within_fr()}, et classer les élèves pour que l'équipe rencontre en premier "
        f"{point.high_group_fr()} {point.scope_fr()} (niveau de priorité « élevé »), avec les raisons "
        "du score en clair."
    )


def intervention_fr(record: VersionRecord) -> str:
    """When the algorithm intervenes in the procedure."""
    return (
        "À chaque lot de scores (à une date d'observation choisie par le déployeur, par exemple avant les "
        "réunions du groupe de prévention du décrochage scolaire) : les personnels de "
        "l'établissement consultent la liste de leurs élèves par niveau de priorité et les raisons de "
        "chaque score, puis décident d'un entretien ou d'un plan de suivi. "
        f"{tiers_fr(record)}"
    )


def tiers_fr(record: VersionRecord) -> str:
    """The priority tiers as one well-formed sentence, from the version's operating point."""
    point = record.operating_point
    return (
        f"Le risque estimé est celui d'un décrochage {point.within_fr()} ; les niveaux de priorité en découlent : "
        f"{point.tiers_fr()}."
    )


def _lower_first(text: str) -> str:
    """A sentence continued after a colon: its capital lowered (« Niveaux : risque de … »)."""
    return text[:1].lower() + text[1:]


def public_fr() -> str:
    """Who the processing concerns."""
    levels = ", ".join(GRADE_LEVEL_LABELS_FR.values())
    return (
        f"Les élèves des collèges et lycées du périmètre ({levels}), et leurs responsables légaux ; "
        "les personnels de ces établissements, qui consultent les scores de leurs seuls élèves."
    )


def data_used_fr(record: VersionRecord) -> list[str]:
    """The families of signals the version reads, each with all its signals (CRPA R311-3-1-2, 2°: the
    data processed, every one of them, not a sample)."""
    families: dict[str, list[str]] = {}
    for feature in record.features.features:
        families.setdefault(FAMILY_LABELS_FR.get(feature.family, feature.family), []).append(feature.label_fr)
    return [
        f"{family.capitalize()} ({len(labels)} {french.plural(len(labels), 'signal', 'signaux')}) : "
        + ", ".join(labels)
        for family, labels in families.items()
    ]


def model_type_fr(record: VersionRecord) -> str:
    """The kind of algorithm."""
    return (
        "Apprentissage automatique : arbres de décision boostés (LightGBM) dont la sortie est calibrée en "
        "probabilité, comparés à chaque version à une règle simple (« ABC » : absences, résultats, "
        "redoublement) et à une régression logistique. Les raisons sont les contributions de chaque signal "
        f"au score (valeurs de Shapley, TreeSHAP). Version en service : {record.label}."
    )


def operations_fr(record: VersionRecord, key_keeper: str) -> list[str]:
    """The operations carried out (CRPA R311-3-1-2, 4°), in order; ``key_keeper`` is the deployer's
    (who keeps the pseudonymisation key: only the deployer knows)."""
    point = record.operating_point
    return [
        f"Pseudonymisation de l'extrait (HMAC-SHA256 de l'INE avec une clé gardée par : {key_keeper}).",
        "Contrôle de l'extrait : chaque ligne invalide est mise de côté et comptée, jamais corrigée en silence.",
        f"Calcul de {len(record.features.features)} signaux par élève à la date d'observation, uniquement à "
        "partir de données datées au plus tard de cette date.",
        f"Calcul d'un risque calibré de décrochage {point.within_fr()} par le modèle.",
        f"Classement des élèves par niveau de priorité. {tiers_fr(record)}",
        f"Sur les listes, pour les niveaux de priorité « élevé » et « moyen » : les {point.reasons} signaux qui "
        "pèsent le plus dans le score, en phrases, comparés aux élèves du même niveau scolaire. Ce n'est qu'un "
        "résumé : " + EXPLANATION_FR,
        "Consultation par les personnels de l'établissement de l'élève seulement ; chaque consultation est "
        "tracée dans un journal des accès.",
    ]


#: Every input of the model is given to any family, whatever the pupil's tier (CRPA R311-3-1-2, 3°).
EXPLANATION_FR: Final = (
    "toute famille peut obtenir, quel que soit le niveau de priorité de l'élève, chacune des données d'entrée "
    "du modèle, sa valeur pour l'élève et sa contribution au score (document d'explication, page "
    "/eleves/{id}/explication et API GET /api/v1/pupils/{id}/explanation ; CRPA R311-3-1-2, 3°)."
)


def rights_fr() -> list[str]:
    """How a person exercises their rights."""
    return [
        "Communication des règles et des principales caractéristiques du traitement appliquées à la situation "
        "de l'élève, sur demande auprès du contact indiqué dans cette notice ou du chef d'établissement (CRPA "
        "L311-3-1 et R311-3-1-2) ; en cas de refus ou de silence d'un mois, saisine de la Commission d'accès "
        "aux documents administratifs (CADA). " + _sentence(EXPLANATION_FR),
        "Accès, rectification, limitation et opposition (RGPD, articles 15, 16, 18 et 21) auprès du chef "
        "d'établissement ou du délégué à la protection des données ; réclamation auprès de la CNIL.",
        OBJECTION_FR,
        STAFF_JUDGEMENT_FR,
        STOP_FR,
        "Une personne concernée par une décision prise avec l'aide du score peut obtenir une explication claire "
        "du rôle que le score y a joué : ce droit n'est dû par le règlement européen sur l'IA (article 86) que "
        "pour un système à haut risque ; Vigie l'offre volontairement. Il s'ajoute au principe de bonne "
        "administration du droit français (code des relations entre le public et l'administration : motivation, "
        "communication des règles des traitements algorithmiques, L311-3-1).",
    ]


#: The effect of an objection (GDPR art. 21), written in the documents, not only in a guide.
OBJECTION_FR: Final = (
    "Opposition (RGPD, article 21) : l'élève qui s'y oppose, ou sa famille, est retiré des listes, de l'API, "
    "des exports, des effectifs, des prochains lots de scores, de l'entraînement des prochaines versions, des "
    "audits d'équité et de la surveillance ; l'opposition peut être retirée à tout moment ; elle est enregistrée "
    "par le délégué à la protection des données (rôle DPO du service), qui en garde la trace."
)
#: Staff judgement over the score (GDPR art. 22).
STAFF_JUDGEMENT_FR: Final = (
    "Jugement des personnels (RGPD, article 22) : aucune décision n'est fondée exclusivement sur le score ; "
    "les personnels peuvent juger autrement que le score et l'enregistrent sur la fiche de l'élève, et le taux "
    "de ces désaccords est suivi à chaque lot."
)
#: The stop switch (AI Act art. 14(4)(e)).
STOP_FR: Final = (
    "Arrêt (règlement européen sur l'IA, article 14(4)(e)) : un administrateur du déployeur peut suspendre "
    "Vigie à tout moment, pour un établissement ou partout, avec un motif enregistré ; les pages l'annoncent et "
    "n'affichent plus aucun score, l'API refuse de répondre ; la suspension est réversible."
)


#: The test-fold figures the notice shows, in order: (label, metric) of the model.
def _shown_metrics(record: VersionRecord) -> list[tuple[str, str]]:
    high = record.operating_point.high
    share = french.percent(high)
    return [
        ("Situations d'élèves évaluées au test (un élève à une date d'observation)", "n"),
        ("Décrochages constatés dans l'horizon, au test", "positives"),
        ("Capacité à classer (aire sous la courbe ROC) : chance qu'un élève qui a décroché soit classé plus à "
         "risque qu'un élève qui n'a pas décroché ; 0,5 = hasard, 1 = parfait", "roc_auc"),
        (f"Précision : part de décrocheurs parmi les {share} d'élèves jugés les plus à risque",
         metric_name("precision", high)),
        (f"Rappel : part des décrocheurs présents dans ces {share}", metric_name("recall", high)),
        ("Erreur de calibration (ECE) : écart moyen entre le risque affiché et la part d'élèves qui décrochent "
         "vraiment ; 0 = parfait", "ece"),
        ("Délai médian d'alerte avant le décrochage, en jours", "lead_days_median"),
    ]  # fmt: skip


def reading_fr(record: VersionRecord) -> str:
    """The operating figures in a sentence anyone can read (CRPA R311-3-1-2: « sous une forme intelligible »)."""
    point = record.operating_point
    precision = record.test_metric("model", metric_name("precision", point.high))
    recall = record.test_metric("model", metric_name("recall", point.high))
    if precision is None or recall is None:
        return "Les chiffres de précision et de rappel de cette version ne sont pas enregistrés."
    return (
        f"Lecture : au test, parmi {point.high_group_fr()}, {french.percent(precision)} ont effectivement "
        f"décroché {point.within_fr()} ; cette liste contenait {french.percent(recall)} des élèves qui ont "
        "décroché. Les autres décrocheurs n'étaient pas au niveau de priorité « élevé » : ne pas être signalé "
        "ne veut pas dire ne pas être en risque."
    )


def figure_of(record: VersionRecord, label: str, ranker: str, metric: str) -> Figure:
    """One figure, exactly as the registry holds it (``test.<ranker>.<metric>``)."""
    value = record.test_metric(ranker, metric)
    digits = 0 if metric in ("n", "positives", "lead_days_median") else 3
    return Figure(indicateur=label, valeur=value, affichage=french.number(value, digits),
                  cle_registre=f"test.{ranker}.{metric}")  # fmt: skip


def _figures(record: VersionRecord) -> list[Figure]:
    figures = [figure_of(record, label, "model", metric) for label, metric in _shown_metrics(record)]
    precision = metric_name("precision", record.operating_point.high)
    share = french.percent(record.operating_point.high)
    figures.append(figure_of(record, f"Pour comparaison, précision à {share} de la règle simple ABC", "abc_rule",
                             precision))  # fmt: skip
    return figures


#: The gaps between groups the notice shows for each attribute (the audit's names), with the per-group
#: figure each compares: a gap is measurable only if that figure is measured in every group.
GAPS_FR: Final = {
    "equal_opportunity_difference": ("écart de rappel entre groupes (égalité des chances)", "tpr"),
    "calibration_gap_difference": ("écart de calibration entre groupes", "calibration_gap"),
}
NOT_MEASURABLE: Final = "non mesurable"
OUTSIDE_INTERVAL_FR: Final = (
    " (intervalle obtenu par tirage des élèves : un écart entre groupes ne peut être négatif, aussi l'intervalle "
    "peut-il ne pas contenir l'écart observé quand celui-ci est proche de 0)"
)


def interval_fr(value: float | None, lower: float | None, upper: float | None) -> str:
    """``0,012 [0,002 ; 0,031]``; an interval that does not contain its own value says why."""
    if value is None:
        return french.MISSING
    shown = f"{french.number(value, 3)} [{french.number(lower, 3)} ; {french.number(upper, 3)}]"
    if lower is not None and upper is not None and not lower <= value <= upper:
        shown += OUTSIDE_INTERVAL_FR
    return shown


def _masked_groups(groups: object, figure: str) -> list[str]:
    """The groups whose ``figure`` the audit masked (too few pupils or cases)."""
    if not isinstance(groups, dict):
        return []
    return [
        str(group)
        for group, cells in groups.items()
        if isinstance(cells, dict) and not isinstance(cells.get(figure), dict)
    ]


def measurable(cells: Mapping[str, object], min_cell: int) -> bool:
    """A group every figure of which the audit measured, with at least ``min_cell`` pupils and as many
    dropouts (the small-cell rule, applied to the number of cases too)."""
    if any(not isinstance(cell, dict) for cell in cells.values()):
        return False
    pupils, rate = _value_of(cells.get("n")), _value_of(cells.get("base_rate"))
    return pupils is not None and rate is not None and pupils >= min_cell and round(pupils * rate) >= min_cell


def group_gaps(record: VersionRecord) -> list[GroupFigure]:
    """For each audited attribute, the gaps between its groups, with their intervals."""
    if record.fairness is None:
        return []
    rows = []
    for attribute in record.fairness.audit.attributes:
        gaps = attribute.get("disparities")
        if not isinstance(gaps, dict):
            continue  # a single group, or nobody concerned: no gap to show
        for key, (label, figure) in GAPS_FR.items():
            estimate = gaps.get(key)
            if not isinstance(estimate, dict):
                continue
            value, lower, upper = (as_float(estimate.get(k)) for k in ("value", "lower", "upper"))
            name = str(attribute.get("attribute", ""))
            masked = _masked_groups(attribute.get("groups"), figure)
            if masked:
                rows.append(
                    GroupFigure(
                        attribut=ATTRIBUTE_LABELS_FR.get(name, name), indicateur=label, valeur=None, borne_basse=None,
                        borne_haute=None,
                        affichage=f"{NOT_MEASURABLE} : trop peu d'élèves ou de décrochages dans "
                        + ", ".join(masked),
                    )
                )  # fmt: skip
                continue
            rows.append(
                GroupFigure(
                    attribut=ATTRIBUTE_LABELS_FR.get(name, name), indicateur=label, valeur=value, borne_basse=lower,
                    borne_haute=upper, affichage=interval_fr(value, lower, upper),
                )
            )  # fmt: skip
    return rows


def as_float(value: object) -> float | None:
    """A number of a stored audit (JSON), None for anything else (a suppressed cell's marker)."""
    return float(value) if isinstance(value, int | float) else None


def _sentence(text: str) -> str:
    """A criterion of the audit as a line of its own: capital first, as the notice's other lines."""
    return text[:1].upper() + text[1:]


def _value_of(cell: object) -> float | None:
    """An audit cell's estimate (``{"value": …, "lower": …, "upper": …}``), None for a marker."""
    return as_float(cell.get("value")) if isinstance(cell, dict) else None


def flag_rates_fr(record: VersionRecord) -> list[str]:
    """Per audited attribute, the measurable groups flagged most and least often, beside their dropout
    rates, as the audit logged them: who the « élevé » list holds, in words a family can read."""
    if record.fairness is None:
        return []
    min_cell = record.fairness.audit.min_cell
    lines = []
    for attribute in record.fairness.audit.attributes:
        groups = attribute.get("groups")
        if not isinstance(groups, dict):
            continue
        rates = []
        for group, cells in groups.items():
            if not isinstance(cells, dict) or not measurable(cells, min_cell):
                continue  # too few pupils or cases: never an extreme
            flagged, dropout = (_value_of(cells.get(k)) for k in ("selection_rate", "base_rate"))
            if flagged is not None:
                rates.append((flagged, str(group), dropout))
        if len(rates) < 2:
            continue
        (most, most_group, most_base), (least, least_group, least_base) = max(rates), min(rates)
        name = str(attribute.get("attribute", ""))
        lines.append(
            f"{_sentence(ATTRIBUTE_LABELS_FR.get(name, name))} : élèves signalés au niveau de priorité « élevé » de "
            f"{french.percent(most, 1)} ({most_group}) à {french.percent(least, 1)} ({least_group}), pour des taux "
            f"de décrochage de {french.percent(most_base, 1)} et {french.percent(least_base, 1)}."
        )
    return lines


def fairness_fr(record: VersionRecord) -> list[str]:
    """The newest audit's verdict in sentences: what was judged, how to read it, who is flagged."""
    audit = record.fairness
    if audit is None:
        return ["Aucun audit d'équité n'est enregistré pour cette version : il doit être fait avant tout usage."]
    judged = (*audit.gate.judged, *audit.gate.breaches)
    simulated = SIMULATED if audit.synthetic_data else ""
    off_calibration = calibration_outliers_fr(record)
    verdict = (
        "les critères du contrôle ci-dessous sont respectés"
        if audit.gate.passed
        else ("des critères du contrôle ci-dessous ne sont pas respectés")
    )
    if audit.gate.passed and off_calibration:
        verdict += f", mais {len(off_calibration)} {french.plural(len(off_calibration), 'groupe a', 'groupes ont')} "
        verdict += "un risque mal estimé dont l'intervalle exclut 0 (détail ci-dessous)"
    lines = [
        f"Audit d'équité du {french.day(audit.generated_at[:10])}{simulated}, à la date d'observation "
        f"{french.days(audit.as_of)}, sur {french.integer(audit.audit.pupils)} élèves "
        f"({french.integer(audit.audit.snapshots)} situations), au niveau de priorité « élevé » "
        f"({french.percent(audit.audit.capacity)} des élèves) : {verdict}.",
        CALIBRATION_GAP_FR,
        *(f"Critère : {_lower_first(line)}." for line in judged),
        *(_sentence(line) for line in audit.audit.alerts),
        *off_calibration,
    ]
    if any("borne basse" in line for line in judged):
        lines.append(
            "« Borne basse de l'intervalle » : un critère n'est manqué que si l'écart dépasse le seuil même au bas "
            "de son intervalle de confiance ; un écart observé plus grand mais incertain (petit groupe) ne bloque "
            "pas la version et reste visible dans les tableaux par groupe."
        )
    lines += [
        "Qui est signalé : les taux de signalement diffèrent entre groupes ; ils se lisent à côté des taux de "
        "décrochage de ces groupes (un groupe plus signalé sans décrocher davantage serait sur-signalé).",
        *flag_rates_fr(record),
        f"Intervalles de confiance à {french.percent(audit.audit.confidence)} ; toute case reposant sur moins de "
        f"{audit.audit.min_cell} élèves est masquée (« {audit.audit.suppressed_marker} »). Un écart entre groupes "
        "est la différence entre le groupe le plus haut et le plus bas ; il ne peut être négatif, aussi son "
        "intervalle, obtenu par tirage des élèves, peut-il ne pas contenir l'écart observé quand celui-ci est "
        "proche de 0.",
    ]
    return lines


#: What a group's calibration gap is, and its sign (the audit's definition: mean risk − observed rate).
CALIBRATION_GAP_FR: Final = (
    "Écart de calibration d'un groupe : risque moyen affiché pour le groupe moins la part de ses élèves qui ont "
    "réellement décroché. Positif : le risque du groupe est surestimé ; négatif : il est sous-estimé ; 0,020 "
    "= 2 points de pourcentage. La différence d'écart de calibration est l'écart entre le groupe le plus haut "
    "et le plus bas d'un même attribut."
)


def calibration_outliers_fr(record: VersionRecord) -> list[str]:
    """The groups whose calibration gap's interval excludes 0, said plainly (over- or under-estimated)."""
    if record.fairness is None:
        return []
    lines = []
    for attribute in record.fairness.audit.attributes:
        groups = attribute.get("groups")
        if not isinstance(groups, dict):
            continue
        name = str(attribute.get("attribute", ""))
        for group, cells in groups.items():
            cell = cells.get("calibration_gap") if isinstance(cells, dict) else None
            if not isinstance(cell, dict):
                continue
            value, lower, upper = (as_float(cell.get(k)) for k in ("value", "lower", "upper"))
            if value is None or lower is None or upper is None or lower <= 0 <= upper:
                continue
            way = "surestimé" if lower > 0 else "sous-estimé"
            lines.append(
                f"{_sentence(ATTRIBUTE_LABELS_FR.get(name, name))}, groupe « {group} » : risque {way} — écart de "
                f"calibration {interval_fr(value, lower, upper)}, intervalle qui exclut 0."
            )
    return lines


def updated_on(record: VersionRecord) -> date:
    """The notice's date: the last change of what it says of the version (its registration, its
    newest fairness audit), so that the same version gives the same notice wherever it is made."""
    audited = date.fromisoformat(record.fairness.generated_at[:10]) if record.fairness else None
    return max(d for d in (record.registered_at.date(), audited) if d is not None)


#: A short glossary of the words the notice and the dossier use (French, for families and DPOs).
GLOSSARY_FR: Final = (
    ("CPE", "conseiller principal d'éducation, responsable de la vie scolaire de l'établissement."),
    ("REP, REP+", "réseaux d'éducation prioritaire (REP+ : les plus renforcés), pour les collèges."),
    ("DPD (DPO)", "délégué à la protection des données, qui veille au respect du RGPD."),
    ("EUPL", "licence publique de l'Union européenne, licence libre du code source de Vigie."),
    ("ROC AUC (aire sous la courbe ROC)", "chance qu'un élève qui a décroché soit classé plus à risque qu'un "
     "élève qui n'a pas décroché ; 0,5 = hasard, 1 = parfait."),
    ("Précision", "part de décrocheurs parmi les élèves signalés."),
    ("Rappel", "part des décrocheurs que la liste des élèves signalés contient."),
    ("Calibration", "accord entre le risque affiché et la part d'élèves qui décrochent vraiment."),
    ("ECE (erreur de calibration)", "écart moyen entre risque affiché et part observée ; 0 = parfait."),
    ("Intervalle de confiance", "fourchette dans laquelle le vrai chiffre se trouve probablement (à 95 %), "
     "obtenue en refaisant le calcul sur des tirages des élèves."),
    ("Niveau scolaire", "la classe de l'élève (6e à terminale)."),
    ("Niveau de priorité", "« élevé », « moyen » ou « faible » : la place de l'élève dans le classement par risque."),
    ("Version en service", "la version du modèle qui calcule les scores actuellement."),
    ("Pseudonyme", "code qui remplace l'identifiant de l'élève ; seul l'établissement peut le relier au nom."),
)  # fmt: skip


def source_code_fr(record: VersionRecord, config: NoticeConfig) -> str:
    """Where the code is published (the deployer's or the project's address), the version's commit, the licence."""
    return f"{filled(config.source_code_url)} — commit {record.code_version}, licence {LICENCE}"


def build_notice(record: VersionRecord, config: NoticeConfig) -> Notice:
    """The notice of ``record``, the deployer's fields from ``config``."""
    split = record.split
    return Notice(
        administration=filled(config.administration),
        service=filled(config.service_name),
        contact=filled(config.contact),
        delegue_protection_donnees=filled(config.data_protection_officer),
        date_mise_a_jour=updated_on(record),
        nom=NAME,
        version_modele=record.label,
        contexte=CONTEXT,
        objectif=purpose_fr(record),
        intervention_dans_la_procedure=intervention_fr(record),
        niveau_automatisation=AUTOMATION,
        base_legale=filled(config.legal_basis),
        nombre_decisions_par_an=filled(config.decisions_per_year),
        perimetre=filled(config.scope),
        public_concerne=public_fr(),
        donnees_utilisees=data_used_fr(record),
        sources_et_collecte=list(SOURCES),
        donnees_non_utilisees=not_used_fr(),
        type_algorithme=model_type_fr(record),
        operations=operations_fr(record, filled(config.pseudonymisation_key_keeper)),
        performances=_figures(record),
        periode_de_test=(
            f"Chiffres mesurés sur des dates d'observation que le modèle n'a pas vues à l'entraînement : "
            f"{french.days(split.test)} (entraînement : {french.days(split.train)})"
            f"{SIMULATED if record.synthetic_data else ''}."
        ),
        lecture_performances=reading_fr(record),
        equite=fairness_fr(record),
        equite_par_groupe=group_gaps(record),
        donnees_synthetiques=record.synthetic_data,
        avertissement=SYNTHETIC_WARNING if record.synthetic_data else None,
        usages_exclus=EXCLUDED_USES,
        droits=rights_fr(),
        code_source=filled(config.source_code_url),
        commit_code=record.code_version,
        glossaire=list(GLOSSARY_FR),
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined
    )
    env.filters.update(french.JINJA_FILTERS)
    env.globals["TO_COMPLETE"] = TO_COMPLETE
    return env


def notice_html(notice: Notice) -> str:
    """The notice as one self-contained French page (the service serves the same body in its
    DSFR pages at ``/algorithme``)."""
    return _environment().get_template("notice_standalone.html").render(notice=notice)


def write_notice(notice: Notice, out: Path) -> list[Path]:
    """``algorithme.html`` and ``algorithme.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "algorithme.html", out / "algorithme.json"]
    paths[0].write_text(notice_html(notice), encoding="utf-8")
    paths[1].write_text(notice.as_json(), encoding="utf-8")
    return paths
