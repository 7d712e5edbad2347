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
from models.version_record import version_record
from serving.notice import TO_COMPLETE, NoticeConfig, build_notice
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
