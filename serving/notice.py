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
NOTICE_VERSION: Final = 1
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
    source_code_url: str | None = Field(default=None, description="where the source code is published")


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
    droits: list[str]
    code_source: str

    def as_json(self) -> str:
        """The JSON served at ``/algorithme.json`` and written by ``vigie notice``."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2)


# --- what Vigie does, written once (the notice and the dossier) ------------------------------

NAME: Final = "Vigie — repérage précoce du risque de décrochage scolaire"
CONTEXT: Final = (
    "Lutte contre le décrochage scolaire dans l'enseignement secondaire (action 16 du plan "
    "ministériel pour les données 2024-2027) : aider les équipes des collèges et lycées (CPE, "
    "professeurs principaux, chefs d'établissement, groupes de prévention du décrochage scolaire) "
    "à repérer tôt les élèves qui risquent de quitter l'école sans diplôme."
)
AUTOMATION: Final = (
    "Aide à la décision, sans aucune décision automatique : le score informe, une personne décide "
    "(RGPD, article 22). Aucune orientation, sanction, affectation ou aide n'est décidée par Vigie ; "
    "le score ne sert ni à la discipline ni à l'orientation (règlement européen sur l'IA, article "
    "5(1)(c)). L'équipe peut ne pas suivre le score et consigne ce qu'elle décide."
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
        "À chaque lot de scores (à une date d'observation choisie par le rectorat, par exemple avant les "
        "conseils de classe ou les réunions du groupe de prévention du décrochage) : les personnels de "
        "l'établissement consultent la liste de leurs élèves par niveau de priorité et les raisons de "
        "chaque score, puis décident d'un entretien ou d'un plan de suivi. "
        f"Niveaux de priorité : {_lower_first(record.operating_point.describe_fr())}"
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


def operations_fr(record: VersionRecord) -> list[str]:
    """The operations carried out (CRPA R311-3-1-2, 4°), in order."""
    point = record.operating_point
    return [
        "Pseudonymisation de l'extrait (HMAC-SHA256 de l'INE avec une clé gardée par le rectorat).",
        "Contrôle de l'extrait : chaque ligne invalide est mise de côté et comptée, jamais corrigée en silence.",
        f"Calcul de {len(record.features.features)} signaux par élève à la date d'observation, uniquement à "
        "partir de données datées au plus tard de cette date.",
        f"Calcul d'un risque calibré de décrochage {point.within_fr()} par le modèle.",
        f"Classement des élèves et niveaux de priorité : {_lower_first(point.describe_fr())}",
        f"Pour les niveaux « élevé » et « moyen » : les {point.reasons} signaux qui pèsent le plus dans le "
        "score, en phrases, comparés aux élèves du même niveau.",
        "Consultation par les personnels de l'établissement de l'élève seulement ; chaque consultation est "
        "tracée dans un journal des accès.",
    ]


def rights_fr() -> list[str]:
    """How a person exercises their rights."""
    return [
        "Communication des règles et des principales caractéristiques du traitement appliquées à la situation "
        "de l'élève, sur demande auprès du contact indiqué dans cette notice ou du chef d'établissement (CRPA "
        "L311-3-1 et R311-3-1-2) ; en cas de refus ou de silence d'un mois, saisine de la Commission d'accès "
        "aux documents administratifs (CADA).",
        "Accès, rectification, limitation et opposition (RGPD, articles 15, 16, 18 et 21) auprès du chef "
        "d'établissement ou du délégué à la protection des données ; réclamation auprès de la CNIL.",
        "Aucune décision n'est fondée exclusivement sur le score (RGPD, article 22) ; une personne concernée par "
        "une décision prise avec l'aide du score peut en obtenir une explication claire du rôle que le score y a "
        "joué (règlement européen sur l'IA, article 86).",
    ]


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
        "décroché. Les autres décrocheurs n'étaient pas au niveau « élevé » : ne pas être signalé ne veut pas "
        "dire ne pas être en risque."
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


#: The gaps between groups the notice shows for each attribute (the audit's names).
GAPS_FR: Final = {
    "equal_opportunity_difference": "écart de rappel entre groupes (égalité des chances)",
    "calibration_gap_difference": "écart de calibration entre groupes",
}


def interval_fr(value: float | None, lower: float | None, upper: float | None) -> str:
    """``0,012 [0,002 ; 0,031]``."""
    if value is None:
        return french.MISSING
    return f"{french.number(value, 3)} [{french.number(lower, 3)} ; {french.number(upper, 3)}]"


def group_gaps(record: VersionRecord) -> list[GroupFigure]:
    """For each audited attribute, the gaps between its groups, with their intervals."""
    if record.fairness is None:
        return []
    rows = []
    for attribute in record.fairness.audit.attributes:
        gaps = attribute.get("disparities")
        if not isinstance(gaps, dict):
            continue  # a single group, or nobody concerned: no gap to show
        for key, label in GAPS_FR.items():
            estimate = gaps.get(key)
            if not isinstance(estimate, dict):
                continue
            value, lower, upper = (as_float(estimate.get(k)) for k in ("value", "lower", "upper"))
            name = str(attribute.get("attribute", ""))
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
    """Per audited attribute, the groups flagged most and least often, beside their dropout rates, as
    the audit logged them: who the « élevé » list holds, in words a family can read."""
    if record.fairness is None:
        return []
    lines = []
    for attribute in record.fairness.audit.attributes:
        groups = attribute.get("groups")
        if not isinstance(groups, dict):
            continue
        rates = []
        for group, cells in groups.items():
            if not isinstance(cells, dict):
                continue
            flagged, dropout = (_value_of(cells.get(k)) for k in ("selection_rate", "base_rate"))
            if flagged is not None:  # a suppressed cell (too few pupils) is the audit's marker: left out
                rates.append((flagged, str(group), dropout))
        if len(rates) < 2:
            continue
        (most, most_group, most_base), (least, least_group, least_base) = max(rates), min(rates)
        name = str(attribute.get("attribute", ""))
        lines.append(
            f"{_sentence(ATTRIBUTE_LABELS_FR.get(name, name))} : élèves signalés au niveau « élevé » de "
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
    lines = [
        f"Audit d'équité du {french.day(audit.generated_at[:10])}, à la date d'observation "
        f"{french.days(audit.as_of)}, sur {french.integer(audit.audit.pupils)} élèves "
        f"({french.integer(audit.audit.snapshots)} situations), au niveau « élevé » "
        f"({french.percent(audit.audit.capacity)} des élèves) : "
        f"{'critères respectés' if audit.gate.passed else 'critères non respectés'}.",
        *(f"Critère : {_lower_first(line)}." for line in judged),
        *(_sentence(line) for line in audit.audit.alerts),
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


def updated_on(record: VersionRecord) -> date:
    """The notice's date: the last change of what it says of the version (its registration, its
    newest fairness audit), so that the same version gives the same notice wherever it is made."""
    audited = date.fromisoformat(record.fairness.generated_at[:10]) if record.fairness else None
    return max(d for d in (record.registered_at.date(), audited) if d is not None)


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
        operations=operations_fr(record),
        performances=_figures(record),
        periode_de_test=(
            f"Chiffres mesurés sur des dates d'observation que le modèle n'a pas vues à l'entraînement : "
            f"{french.days(split.test)} (entraînement : {french.days(split.train)})."
        ),
        lecture_performances=reading_fr(record),
        equite=fairness_fr(record),
        equite_par_groupe=group_gaps(record),
        donnees_synthetiques=record.synthetic_data,
        droits=rights_fr(),
        code_source=filled(config.source_code_url),
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
