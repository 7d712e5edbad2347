"""The public notice of the algorithm (CRPA L312-1-3) and the deployment dossier (AI Act art. 11,
13, 27 and Annex IV; GDPR art. 35), on the served district's real champion: served without
sign-in at a stable address, free of pupil data, every figure the registry's."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from features import french
from models import DEFAULT_MODEL_NAME
from models.metrics import metric_name
from models.version_record import version_record
from serving.dossier import group_tables
from serving.notice import TO_COMPLETE, NoticeConfig, build_notice, interval_fr, notice_html
from tests.serving.conftest import ServedDistrict, Service
from vigie.cli import app

FULL_CONFIG = {
    "administration": "Académie de Test — rectorat",
    "service_name": "Mission de lutte contre le décrochage scolaire",
    "contact": "decrochage@ac-test.fr",
    "data_protection_officer": "dpd@ac-test.fr",
    "legal_basis": "Mission d'intérêt public (RGPD art. 6(1)(e)), code de l'éducation L313-7",
    "scope": "les collèges et lycées publics de l'académie",
    "decisions_per_year": "environ 3 000 élèves classés, 2 lots par an",
    "source_code_url": "https://code.ac-test.fr/vigie",
    "pseudonymisation_key_keeper": "le responsable de la sécurité du rectorat",
}


def _champion_metrics(district: ServedDistrict) -> tuple[str, dict[str, float]]:
    client = MlflowClient(district.tracking_uri)
    version = client.get_model_version_by_alias(DEFAULT_MODEL_NAME, "champion")
    return str(version.version), dict(client.get_run(str(version.run_id)).data.metrics)


def _pupil_ids(district: ServedDistrict) -> set[str]:
    """Every pseudonym the score history holds (and their INE)."""
    ids: set[str] = set()
    for path in (district.data_dir / "score_history").glob("as_of=*/*.parquet"):
        ids.update(pq.read_table(path, columns=["pupil_id"]).column("pupil_id").to_pylist())
    return ids | set(district.ine_of.values())


def _no_pupil_in(text: str, district: ServedDistrict) -> None:
    tokens = set(re.findall(r"[0-9A-Za-z]{10,}", text))
    leaked = tokens & _pupil_ids(district)
    assert not leaked, sorted(leaked)[:5]


def test_notice_is_served_without_sign_in_at_a_stable_address_free_of_pupil_data(service: Service) -> None:
    page = service.client.get("/algorithme")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Notice publique de l'algorithme" in page.text and "L312-1-3" in page.text
    assert 'content="index, follow"' in page.text  # public, unlike the staff pages
    document = service.client.get("/algorithme.json")
    assert document.status_code == 200 and document.headers["content-type"].startswith("application/json")
    notice = document.json()
    for field in ("administration", "contact", "objectif", "niveau_automatisation", "base_legale",
                  "public_concerne", "donnees_utilisees", "sources_et_collecte", "type_algorithme", "operations",
                  "performances", "equite", "code_source"):  # fmt: skip
        assert notice[field], field
    # no deployer's file configured: every field only the deployer knows is marked, visibly
    assert notice["administration"] == notice["base_legale"] == notice["code_source"] == TO_COMPLETE
    assert page.text.count("data-to-complete") == 8
    _no_pupil_in(page.text, service.district)
    _no_pupil_in(document.text, service.district)
    # the staff pages link to it, signed in or not
    assert 'href="/algorithme"' in service.client.get("/comprendre").text


def test_notice_figures_are_those_of_the_champion_in_the_registry(service: Service) -> None:
    version, metrics = _champion_metrics(service.district)
    notice = service.client.get("/algorithme.json").json()
    assert notice["version_modele"] == f"{DEFAULT_MODEL_NAME}/{version}"
    shown = notice["performances"]
    assert {f["cle_registre"] for f in shown} >= {"test.model.roc_auc", "test.model.precision_at_10pct",
                                                 "test.model.recall_at_10pct", "test.model.ece"}  # fmt: skip
    page = service.client.get("/algorithme").text
    for figure in shown:
        assert figure["valeur"] == metrics[figure["cle_registre"]], figure  # exactly, not recomputed
        row = re.search(rf'data-key="{re.escape(figure["cle_registre"])}"><td>[^<]*</td><td>([^<]*)</td>', page)
        assert row is not None and row.group(1) == figure["affichage"]
    roc = next(f for f in shown if f["cle_registre"] == "test.model.roc_auc")
    assert roc["affichage"] == french.number(metrics["test.model.roc_auc"], 3)
    gaps = notice["equite_par_groupe"]
    assert gaps and {g["attribut"] for g in gaps} >= {"sexe", "bourse"}
    assert all(g["borne_basse"] is None or g["borne_basse"] <= g["borne_haute"] for g in gaps)


def test_the_deployers_fields_come_from_the_config_file(served_district: ServedDistrict, tmp_path: Path) -> None:
    config_file = tmp_path / "notice.yaml"
    config_file.write_text("\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in FULL_CONFIG.items()))
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data"), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    done = CliRunner().invoke(app, ["notice", "--out", str(tmp_path / "out"), "--config", str(config_file)], env=env)
    assert done.exit_code == 0, done.output
    written = json.loads((tmp_path / "out" / "algorithme.json").read_text(encoding="utf-8"))
    assert TO_COMPLETE not in json.dumps(written, ensure_ascii=False)
    assert written["administration"] == FULL_CONFIG["administration"]
    assert written["code_source"] == FULL_CONFIG["source_code_url"]
    page = html.unescape((tmp_path / "out" / "algorithme.html").read_text(encoding="utf-8"))
    assert FULL_CONFIG["legal_basis"] in page and "data-to-complete" not in page
    _no_pupil_in(page, served_district)
    bad = tmp_path / "bad.yaml"
    bad.write_text("administration: x\nbudget: 3\n")
    refused = CliRunner().invoke(app, ["notice", "--out", str(tmp_path / "o2"), "--config", str(bad)], env=env)
    assert refused.exit_code == 2 and "budget" in refused.output and str(bad) in refused.output


# --- the dossier ------------------------------------------------------------------------------

ANNEX_IV = (
    "## 1. Description générale du système",
    "## 2. Éléments du système et processus de développement",
    "## 3. Surveillance, fonctionnement et contrôle",
    "## 4. Pertinence des indicateurs de performance",
    "## 5. Système de gestion des risques (art. 9)",
    "## 6. Modifications au cours du cycle de vie",
    "## 7. Normes harmonisées appliquées",
    "## 8. Déclaration UE de conformité",
    "## 9. Plan de surveillance après la mise en service (art. 72)",
)
#: What the issue asks the technical documentation to hold, each under its own heading.
ASKED = (
    "### 2.3 Point de fonctionnement",
    "### 2.4 Données",
    "### 3.1 Indicateurs globaux",
    "### 3.2 Indicateurs par groupe d'élèves",
    "### 3.3 Limites connues et risques prévisibles",
    "### 3.4 Mesures de contrôle humain (art. 14)",
    "### 3.5 Journalisation (art. 12)",
    "### 6.1 Modifications depuis la version précédente",
)


@pytest.fixture(scope="module")
def dossier(served_district: ServedDistrict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dossier")
    env = {"VIGIE_DATA_DIR": str(out / "data"), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    done = CliRunner().invoke(app, ["dossier", "--model", "champion", "--out", str(out / "dossier")], env=env)
    assert done.exit_code == 0, done.output
    return out / "dossier"


def test_dossier_figures_equal_the_registrys_for_the_version(dossier: Path, served_district: ServedDistrict) -> None:
    version, metrics = _champion_metrics(served_district)
    figures = json.loads((dossier / "chiffres.json").read_text(encoding="utf-8"))
    assert figures["version"] == f"{DEFAULT_MODEL_NAME}/{version}"
    model_keys = {k for k in metrics if k.startswith("test.model.")}
    assert model_keys <= set(figures["figures"])  # every test figure of the model is documented
    assert all(figures["figures"][key] == metrics[key] for key in figures["figures"])
    technical = (dossier / "documentation-technique.md").read_text(encoding="utf-8")
    row = r"^\| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| `(test\.model\.[a-z0-9_]+)` \|$"
    rows = re.findall(row, technical, re.M)
    assert {row[4] for row in rows} == model_keys
    for label, model, abc, logistic, key in rows:
        metric = key.removeprefix("test.model.")
        digits = 0 if metric in ("n", "positives") or metric.startswith("lead_days") else 3
        assert model.strip() == french.number(metrics[key], digits), label
        assert abc.strip() == french.number(metrics.get(f"test.abc_rule.{metric}"), digits), label
        assert logistic.strip() == french.number(metrics.get(f"test.logistic.{metric}"), digits), label
    gap, lower = metrics["test.model_minus_logistic.roc_auc"], metrics["test.model_minus_logistic.roc_auc_lower"]
    assert f"| {french.number(gap, 3)} [{french.number(lower, 3)} ;" in technical
    # and to the environment-only baseline (issue 28): is profiling each pupil needed?
    env_key = "test.model_minus_environment.roc_auc"
    env_gap, env_lower = metrics[env_key], metrics[env_key + "_lower"]
    assert re.search(
        rf"^\| environnement seul \| ROC AUC \| {re.escape(french.number(env_gap, 3))} "
        rf"\[{re.escape(french.number(env_lower, 3))} ;[^|]+\| `{re.escape(env_key)}` \|$",
        technical,
        re.M,
    )
    # by group, with intervals, as the version's fairness audit in MLflow holds them
    record = version_record(DEFAULT_MODEL_NAME, version)
    assert record.fairness is not None
    sex: Any = next(a for a in record.fairness.audit.attributes if a["attribute"] == "sex")  # JSON as logged
    recall = sex["groups"]["filles"]["tpr"]
    value, low, high = (french.number(recall[k], 3) for k in ("value", "lower", "upper"))
    expected = f"{value} [{low} ; {high}]"
    assert re.search(rf"^\| filles \| [^|]+ \| [^|]+ \| [^|]+ \| {re.escape(expected)} \|", technical, re.M)


def test_dossier_follows_annex_iv_and_writes_every_document(dossier: Path, served_district: ServedDistrict) -> None:
    technical = (dossier / "documentation-technique.md").read_text(encoding="utf-8")
    positions = [technical.find(heading + "\n") for heading in ANNEX_IV]
    assert -1 not in positions and positions == sorted(positions), dict(zip(ANNEX_IV, positions, strict=True))
    for heading in ASKED:
        assert heading + "\n" in technical, heading
    assert "Première version enregistrée" in technical  # changes since the previous version: none before it
    assert "Dernières surveillances de cette version" in technical.split(ANNEX_IV[-1])[1]
    for stem in ("documentation-technique", "notice-utilisation", "aipd", "analyse-impact-droits-fondamentaux"):
        markdown = (dossier / f"{stem}.md").read_text(encoding="utf-8")
        page = (dossier / f"{stem}.html").read_text(encoding="utf-8")
        assert markdown.startswith("# ") and page.startswith("<!doctype html>") and 'lang="fr"' in page
        _no_pupil_in(markdown + page, served_district)
    instructions = (dossier / "notice-utilisation.md").read_text(encoding="utf-8")
    assert "art. 13(3)(b)(ii)" in instructions and "Usages exclus" in instructions


def test_the_deployers_parts_of_the_aipd_and_fria_are_marked(
    dossier: Path, served_district: ServedDistrict, tmp_path: Path
) -> None:
    for stem in ("aipd", "analyse-impact-droits-fondamentaux"):
        markdown = (dossier / f"{stem}.md").read_text(encoding="utf-8")
        page = (dossier / f"{stem}.html").read_text(encoding="utf-8")
        marks = markdown.count(TO_COMPLETE)
        assert marks >= 8, stem
        # each marker (but the legend's, in the header) in bold with a hint of what to write, highlighted in HTML
        hinted = re.findall(rf"\*\*{re.escape(TO_COMPLETE)}\*\* — \*[^*\n]+\*", markdown)
        assert len(hinted) == marks - 1, stem
        assert page.count(f'<mark class="to-complete"><strong>{TO_COMPLETE}</strong></mark>') == marks - 1
    aipd = (dossier / "aipd.md").read_text(encoding="utf-8")
    assert "jusqu'à la fin de l'année scolaire qui suit celle de leur date d'observation" in aipd  # known: filled
    assert "365 jours" in aipd
    # with the deployer's file, its fields are filled and fewer markers remain
    config_file = tmp_path / "notice.yaml"
    config_file.write_text("\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in FULL_CONFIG.items()))
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data"), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    args = ["dossier", "--out", str(tmp_path / "filled"), "--config", str(config_file)]
    assert CliRunner().invoke(app, args, env=env).exit_code == 0
    filled = (tmp_path / "filled" / "aipd.md").read_text(encoding="utf-8")
    assert FULL_CONFIG["legal_basis"] in filled and FULL_CONFIG["administration"] in filled
    assert filled.count(TO_COMPLETE) < aipd.count(TO_COMPLETE)


def test_notice_without_a_fairness_audit_says_it_must_be_done(served_district: ServedDistrict) -> None:
    version, _ = _champion_metrics(served_district)
    record = version_record(DEFAULT_MODEL_NAME, version).model_copy(update={"fairness": None})
    made = build_notice(record, NoticeConfig())
    assert made.equite_par_groupe == [] and "doit être fait avant tout usage" in made.equite[0]


# --- what a data protection officer's reading changed ---------------------------------------


def test_notice_names_every_signal_and_the_birth_month_it_reads(served_district: ServedDistrict) -> None:
    """CRPA R311-3-1-2, 2°: the data processed, every one; the birth month reaches Vigie (age), so
    the notice must not say the birth date never does."""
    version, _ = _champion_metrics(served_district)
    record = version_record(DEFAULT_MODEL_NAME, version)
    made = build_notice(record, NoticeConfig())
    listed = " ".join(made.donnees_utilisees)
    assert all(feature.label_fr in listed for feature in record.features.features)
    assert "…" not in listed
    sources = " ".join(made.sources_et_collecte)
    assert "mois et année de naissance" in sources and "échelon" in sources  # audit attributes' source too
    assert "date de naissance ne parviennent jamais" not in made.donnees_non_utilisees


def test_notice_says_who_is_flagged_per_group_beside_its_dropout_rate(served_district: ServedDistrict) -> None:
    """Each audited attribute's most and least flagged groups, with the audit's own rates."""
    version, _ = _champion_metrics(served_district)
    record = version_record(DEFAULT_MODEL_NAME, version)
    assert record.fairness is not None
    made = build_notice(record, NoticeConfig())
    sex = next(a for a in record.fairness.audit.attributes if a["attribute"] == "sex")
    groups = sex["groups"]
    assert isinstance(groups, dict)
    rates = {g: float(c["selection_rate"]["value"]) for g, c in groups.items()}  # type: ignore[index,call-overload,arg-type]
    most, least = max(rates, key=rates.__getitem__), min(rates, key=rates.__getitem__)
    line = next(line for line in made.equite if line.startswith("Sexe : "))
    assert (
        f"{french.percent(rates[most], 1)} ({most})" in line and f"{french.percent(rates[least], 1)} ({least})" in line
    )
    assert french.days(record.fairness.as_of) in made.equite[0]  # the audit's observation date
    assert not any("-0,000" in g.affichage for g in made.equite_par_groupe)


def test_dossier_states_roles_registration_and_the_rights_the_cnil_plan_lists(dossier: Path) -> None:
    technical = (dossier / "documentation-technique.md").read_text(encoding="utf-8")
    aipd = (dossier / "aipd.md").read_text(encoding="utf-8")
    fria = (dossier / "analyse-impact-droits-fondamentaux.md").read_text(encoding="utf-8")
    assert "à la fois le fournisseur" in technical and "art. 49(1)" in technical
    for right in ("**Consentement**", "**Effacement** (RGPD art. 17)", "**Portabilité** (RGPD art. 20)"):
        assert right in aipd, right
    assert "art. 26(11)" in aipd and "art. 26(8)" in fria
    assert "-0,000" not in technical
    assert "échoue fermé" not in aipd and "modèle de route" not in technical


# --- the outside DPO reading (December 2026): what each finding changed -------------------------


def _champion(served_district: ServedDistrict) -> Any:
    version, _ = _champion_metrics(served_district)
    return version_record(DEFAULT_MODEL_NAME, version)


def _cells(n: float, base_rate: float, selection_rate: float, *, masked: tuple[str, ...] = ()) -> dict[str, Any]:
    """A group's audit cells as the audit logs them, ``masked`` ones as its marker."""

    def cell(value: float) -> dict[str, float]:
        return {"value": value, "lower": value * 0.8, "upper": value * 1.2}

    gap = {"value": 0.001, "lower": -0.002, "upper": 0.004}
    cells: dict[str, Any] = {"n": cell(n), "base_rate": cell(base_rate), "selection_rate": cell(selection_rate),
                             "tpr": cell(0.6), "calibration_gap": gap}  # fmt: skip
    return {k: (french.SUPPRESSED if k in masked else v) for k, v in cells.items()}


def _with_attribute(record: Any, attribute: dict[str, Any], *, synthetic: bool = False) -> Any:
    audit = record.fairness
    figures = audit.audit.model_copy(update={"attributes": [attribute], "alerts": []})
    return record.model_copy(
        update={"fairness": audit.model_copy(update={"audit": figures, "synthetic_data": synthetic})}
    )


def test_a_synthetic_version_warns_in_the_json_and_says_simulated_data(served_district: ServedDistrict) -> None:
    """Finding 1: the JSON carries the banner's warning in plain French, and the licence; dates say
    « données simulées »; a version on real data says neither."""
    record = _champion(served_district)
    simulated = build_notice(_with_attribute(record.model_copy(update={"synthetic_data": True}),
                                             {"attribute": "sex"}, synthetic=True), NoticeConfig())  # fmt: skip
    assert simulated.avertissement and "données synthétiques" in simulated.avertissement
    assert "EUPL-1.2" in simulated.licence and simulated.commit_code == record.code_version
    assert "(données simulées)" in simulated.periode_de_test and "(données simulées)" in simulated.equite[0]
    real = build_notice(_with_attribute(record.model_copy(update={"synthetic_data": False}), {"attribute": "sex"}),
                        NoticeConfig())  # fmt: skip
    assert real.avertissement is None and "simulées" not in real.periode_de_test + real.equite[0]
    page = notice_html(simulated)
    assert simulated.avertissement.replace("'", "&#39;") in page


def test_the_score_is_excluded_from_class_councils_orientation_and_discipline(
    served_district: ServedDistrict, dossier: Path
) -> None:
    """Finding 2: no example « avant les conseils de classe »; the exclusion said with its reason;
    the staff's disagreement rate named as evidence of real human review."""
    made = build_notice(_champion(served_district), NoticeConfig())
    assert "conseils de classe" not in made.intervention_dans_la_procedure
    assert "conseil de classe" in made.usages_exclus and "annexe III, point 3" in made.usages_exclus
    assert "désaccord" in made.niveau_automatisation
    for stem in ("aipd", "notice-utilisation", "analyse-impact-droits-fondamentaux", "documentation-technique"):
        text = (dossier / f"{stem}.md").read_text(encoding="utf-8")
        assert "avant les conseils de classe" not in text and made.usages_exclus in text, stem


def test_calibration_criterion_gives_its_sign_and_names_groups_whose_interval_excludes_zero(
    served_district: ServedDistrict,
) -> None:
    """Finding 3: the sign convention in words; a group whose interval excludes 0 said plainly,
    never hidden behind « critères respectés »."""
    record = _champion(served_district)
    under = _cells(900, 0.1, 0.2) | {"calibration_gap": {"value": -0.02, "lower": -0.03, "upper": -0.01}}
    attribute = {"attribute": "sex", "groups": {"filles": _cells(1000, 0.05, 0.1), "garçons": under}}
    made = build_notice(_with_attribute(record, attribute), NoticeConfig())
    text = " ".join(made.equite)
    assert "Positif : le risque du groupe est surestimé ; négatif : il est sous-estimé" in text
    assert "critères respectés" not in text
    line = next(line for line in made.equite if "« garçons »" in line)
    assert "risque sous-estimé" in line and "exclut 0" in line and "filles" not in line
    if record.fairness.gate.passed:
        assert "mais 1 groupe a un risque mal estimé" in made.equite[0]


def test_a_masked_group_makes_its_gap_not_measurable_and_is_never_an_extreme(served_district: ServedDistrict) -> None:
    """Finding 4: a gap involving a masked group is « non mesurable », not a figure over the rest;
    the most/least flagged are picked among measurable groups, the small-cell rule applied to cases too."""
    record = _champion(served_district)
    gap = {"value": 0.1, "lower": 0.05, "upper": 0.2}
    attribute = {
        "attribute": "priority_education",
        "groups": {
            "hors EP": _cells(1000, 0.1, 0.10),
            "REP": _cells(800, 0.05, 0.05),
            "REP+": _cells(30, 0.0, 0.60, masked=("tpr", "calibration_gap")),  # masked: never an extreme
            "REP (peu de cas)": _cells(500, 0.01, 0.01),  # 5 dropouts < 10: not measurable either
        },
        "disparities": {"equal_opportunity_difference": gap, "calibration_gap_difference": gap},
    }
    made = build_notice(_with_attribute(record, attribute), NoticeConfig())
    assert [g.valeur for g in made.equite_par_groupe] == [None, None]
    assert all(g.affichage.startswith("non mesurable") and "REP+" in g.affichage for g in made.equite_par_groupe)
    line = next(line for line in made.equite if line.startswith("Éducation prioritaire"))
    assert "10,0 % (hors EP)" in line and "5,0 % (REP)" in line
    assert "REP+" not in line and "peu de cas" not in line
    table = group_tables(_with_attribute(record, attribute))[0]
    few = next(row for row in table["rows"] if row["group"] == "REP (peu de cas)")
    assert few["cells"][1] == record.fairness.audit.suppressed_marker  # 5 dropouts: the rate would give the count
    assert next(row for row in table["rows"] if row["group"] == "REP")["cells"][1].startswith("0,050")


def test_every_input_is_offered_to_any_family_whatever_the_tier(served_district: ServedDistrict) -> None:
    """Finding 5 (CRPA R311-3-1-2, 3°): the lists' few reasons are a summary; the explanation gives all."""
    record = _champion(served_district)
    made = build_notice(record, NoticeConfig())
    reasons = next(op for op in made.operations if "pèsent le plus" in op)
    assert f"les {record.operating_point.reasons} signaux" in reasons and "Ce n'est qu'un résumé" in reasons
    for text in (reasons, made.droits[0]):
        assert "quel que soit le niveau de priorité" in text and "/api/v1/pupils/{id}/explanation" in text


def test_rights_are_written_in_the_notice_and_the_aipd(served_district: ServedDistrict, dossier: Path) -> None:
    """Finding 6: objection's effect, stop switch and staff judgement written, not referred to a guide."""
    made = build_notice(_champion(served_district), NoticeConfig())
    aipd = (dossier / "aipd.md").read_text(encoding="utf-8")
    for words in ("retiré des listes, de l'API, des exports", "retirée à tout moment", "rôle DPO",
                  "article 14(4)(e)", "juger autrement que le score"):  # fmt: skip
        assert any(words in right for right in made.droits) and words in aipd, words
    assert "voir le guide des personnels" not in aipd


def test_aipd_necessity_and_error_risks_come_from_the_registry(served_district: ServedDistrict, dossier: Path) -> None:
    """Finding 7: the gains over the environment alone and the logistic regression, with their paired
    intervals, and the two errors at the high cut (1 − precision, 1 − recall)."""
    record = _champion(served_district)
    aipd = (dossier / "aipd.md").read_text(encoding="utf-8")
    for baseline in ("environment", "logistic"):
        key = f"test.model_minus_{baseline}.roc_auc"
        assert key in record.metrics
        shown = interval_fr(*(record.metrics[key + s] for s in ("", "_lower", "_upper")))
        assert f"{shown} (`{key}`)" in aipd
    high = record.operating_point.high
    precision = record.test_metric("model", metric_name("precision", high))
    recall = record.test_metric("model", metric_name("recall", high))
    assert precision is not None and recall is not None
    said = f"au test, {french.percent(1 - precision)} des élèves du niveau de priorité « élevé » n'ont pas décroché"
    assert said in aipd
    assert f"au test, {french.percent(1 - recall)} des décrocheurs n'étaient pas" in aipd


def test_source_code_is_prefilled_and_what_only_the_deployer_knows_is_marked(
    served_district: ServedDistrict, dossier: Path
) -> None:
    """Finding 8: commit and licence from the version; key keeper and ethics committee left to the deployer."""
    record = _champion(served_district)
    made = build_notice(record, NoticeConfig(source_code_url="https://code.ac-test.fr/vigie"))
    assert made.code_source == "https://code.ac-test.fr/vigie" and made.commit_code == record.code_version
    assert f"clé gardée par : {TO_COMPLETE}" in build_notice(record, NoticeConfig()).operations[0]
    aipd = (dossier / "aipd.md").read_text(encoding="utf-8")
    assert "gardée par le rectorat" not in aipd and "| équipe technique, comité d'éthique, DPO |" not in aipd


def test_legal_references_are_those_that_apply(served_district: ServedDistrict, dossier: Path) -> None:
    """Finding 9: Charter art. 41 only for EU institutions; art. 86 offered voluntarily; the plan is context."""
    made = build_notice(_champion(served_district), NoticeConfig())
    assert any("Vigie l'offre volontairement" in right for right in made.droits)
    assert "contexte, et non base légale" in made.contexte
    fria = (dossier / "analyse-impact-droits-fondamentaux.md").read_text(encoding="utf-8")
    assert "(art. 41 et 47)" not in fria and "ne vise que les institutions de l'Union" in fria
    technical = (dossier / "documentation-technique.md").read_text(encoding="utf-8")
    assert "une note de classification documenterait pourquoi il ne l'est pas" in technical


def test_documents_are_in_plain_french_with_a_glossary(served_district: ServedDistrict, dossier: Path) -> None:
    """Finding 10: a glossary, no English words, « niveau scolaire » apart from « niveau de priorité », no
    malformed tier sentence, an interval outside its own value explained."""
    made = build_notice(_champion(served_district), NoticeConfig())
    assert {"CPE", "REP, REP+", "DPD (DPO)", "EUPL", "Calibration"} <= {term for term, _ in made.glossaire}
    assert "Niveaux de priorité : risque" not in made.intervention_dans_la_procedure + " ".join(made.operations)
    assert "niveau scolaire" in " ".join(made.operations)
    for stem in ("aipd", "notice-utilisation", "analyse-impact-droits-fondamentaux", "documentation-technique"):
        text = (dossier / f"{stem}.md").read_text(encoding="utf-8")
        assert "## Glossaire" in text, stem
        for english in ("PR AUC", "champion", "Benchmarks", "gate=passed", "monitoring_verdict", "`admin`",
                        "d'abord `--dry-run`", "avec `--dry-run`"):  # fmt: skip
            assert english not in text, (stem, english)
    assert "ne pas contenir l'écart observé" in interval_fr(0.002, 0.009, 0.272)
    assert interval_fr(0.01, 0.002, 0.03) == "0,010 [0,002 ; 0,030]"


def test_technical_documentation_prints_the_models_settings(served_district: ServedDistrict, dossier: Path) -> None:
    """Finding 14 (in part, Annex IV 2(b)): the hyperparameters training logged, as the run holds them."""
    record = _champion(served_district)
    run = MlflowClient().get_run(record.run_id)
    logged = {k: v for k, v in run.data.params.items() if k.startswith("model.")}
    assert logged and record.hyperparameters == dict(sorted(logged.items()))
    technical = (dossier / "documentation-technique.md").read_text(encoding="utf-8")
    assert all(f"`{k.removeprefix('model.')}` = {v}" in technical for k, v in logged.items())
