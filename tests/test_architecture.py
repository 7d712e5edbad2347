"""Imports run one way: features <- models <- training/fairness/monitoring/impact; serving never sees
training, fairness or impact; inside features, the stages (ingest, signals, synthetic) meet only through
their public names."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"features", "models", "training", "serving", "fairness", "monitoring", "impact", "vigie"}
ALLOWED = {
    "features": set(),
    "models": {"features"},
    "training": {"features", "models"},
    "fairness": {"features", "models"},
    "monitoring": {"features", "models", "fairness"},
    "impact": {"features", "models"},
    "serving": {"features", "models"},
    "vigie": OURS - {"vigie"},
}
#: The stages inside features, and which other stages each may use.
FEATURE_STAGES = {"ingest": set(), "signals": {"ingest"}, "synthetic": {"ingest"}}
#: Knowledge every stage shares; it imports no stage.
FEATURE_SHARED = {"catalog", "configfile", "french", "school"}


def _import_nodes(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every absolute import in a file."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names]))
    return found


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for module, _ in _import_nodes(path):
            if module.split(".")[0] in OURS:
                found.add((str(path.relative_to(ROOT)), module.split(".")[0]))
    return found


def _stage_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "features" and len(parts) > 2 else None


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_architecture(package: str) -> None:
    wrong = {(f, n) for f, n in _imports(package) if n != package and n not in ALLOWED[package]}
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {sorted(wrong)}"


CLI = ROOT / "vigie" / "cli"


def test_nothing_imports_the_cli() -> None:
    """Only the tests and the docs' generator import ``vigie.cli``; its own modules import one another."""
    wrong = [
        str(path.relative_to(ROOT))
        for package in OURS
        for path in (ROOT / package).rglob("*.py")
        if CLI not in path.parents
        and ("vigie.cli" in path.read_text(encoding="utf-8") or "from vigie import cli" in path.read_text("utf-8"))
    ]
    assert not wrong, wrong


def _cli_modules() -> list[Path]:
    modules = sorted(CLI.glob("*.py"))
    assert {p.stem for p in modules} >= {"__init__", "console", "extract", "model", "scoring", "service"}
    return modules


#: A loop in a command only prints what a package returned.
_PRINTS = {"print", "echo", "advance"}


def test_the_cli_is_small_modules_that_only_parse_call_and_format() -> None:
    """One small module per user task, the console plumbing in ``console.py``: no module over 300
    lines, no class outside ``console.py``, no ``while``, and every loop of a command only prints."""
    wrong: list[tuple[str, int, str]] = []
    for path in _cli_modules():
        name = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 300:
            wrong.append((name, 0, "over 300 lines"))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and path.name != "console.py":
                wrong.append((name, node.lineno, "class"))
            if isinstance(node, ast.While):
                wrong.append((name, node.lineno, "while"))
            if isinstance(node, ast.For) and path.name not in {"__init__.py", "console.py"}:  # plumbing
                calls = [c.value for c in node.body if isinstance(c, ast.Expr) and isinstance(c.value, ast.Call)]
                printing = [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr in _PRINTS]
                if not node.body or len(printing) != len(node.body):
                    wrong.append((name, node.lineno, "a loop that does more than print"))
    assert not wrong, wrong


def test_each_cli_command_lives_in_a_task_module_and_imports_its_packages_when_it_runs() -> None:
    """``__init__.py`` only assembles; the heavy packages load inside the command that needs them."""
    from vigie.cli import app

    task_modules = {f"vigie.cli.{p.stem}" for p in _cli_modules()} - {"vigie.cli", "vigie.cli.console"}
    callbacks = [c.callback for c in app.registered_commands] + [
        c.callback
        for group in app.registered_groups
        if group.typer_instance
        for c in group.typer_instance.registered_commands
    ]
    assert callbacks and all(getattr(c, "__module__", None) in task_modules for c in callbacks)
    light = {"typer", "rich", "features", "models", "serving", "vigie"}
    for path in _cli_modules():
        top = [
            n for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.Import | ast.ImportFrom)
        ]
        for node in top:
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            ours_or_lib = {m.split(".")[0] for m in modules} - set(sys.stdlib_module_names) - {"__future__"}
            assert ours_or_lib <= light, (path.name, modules)


def _code_files() -> list[Path]:
    return [p for package in OURS for p in (ROOT / package).rglob("*.py")]


def test_feature_stages_use_only_the_stages_they_build_on() -> None:
    wrong = []
    for path in (ROOT / "features").rglob("*.py"):
        stage = _stage_of(path)
        for module, _ in _import_nodes(path):
            parts = module.split(".")
            if parts[0] != "features" or len(parts) < 2:
                continue
            used = parts[1]
            if stage is None and path.stem in FEATURE_SHARED and used in FEATURE_STAGES:
                wrong.append((str(path.relative_to(ROOT)), module))  # shared knowledge imports no stage
            if stage is not None and used in FEATURE_STAGES and used != stage and used not in FEATURE_STAGES[stage]:
                wrong.append((str(path.relative_to(ROOT)), module))
    assert not wrong, wrong


def test_stages_and_packages_meet_only_through_public_names() -> None:
    """Outside a stage, import the stage itself (``features.ingest``), and only names it lists in
    ``__all__``; no one imports another module's private (underscore) names."""
    public = {stage: set(importlib.import_module(f"features.{stage}").__all__) for stage in FEATURE_STAGES}
    wrong = []
    for path in _code_files():
        here = path.relative_to(ROOT).parts
        for module, names in _import_nodes(path):
            parts = module.split(".")
            if parts[0] not in OURS:
                continue
            same_place = parts[0] == here[0] and (parts[0] != "features" or tuple(parts[1:2]) == here[1:2])
            if not same_place and any(n.startswith("_") for n in names):
                wrong.append((str(path.relative_to(ROOT)), module, "private name"))
            other_stage = parts[0] == "features" and len(parts) > 1 and parts[1] in FEATURE_STAGES
            if other_stage and here[1:2] != tuple(parts[1:2]):
                if len(parts) > 2:
                    wrong.append((str(path.relative_to(ROOT)), module, "a stage's module, not the stage"))
                elif set(names) - public[parts[1]]:
                    wrong.append((str(path.relative_to(ROOT)), module, f"not public: {set(names) - public[parts[1]]}"))
    assert not wrong, wrong


def test_every_public_name_exists() -> None:
    for stage in FEATURE_STAGES:
        module = importlib.import_module(f"features.{stage}")
        assert all(hasattr(module, name) for name in module.__all__), stage


def test_the_api_never_knows_the_pages() -> None:
    """The pages build on the API's reads and sign-in; the API's modules never need the pages.
    ``serving/app.py`` assembles the two."""
    wrong = []
    for path in (ROOT / "serving" / "api").rglob("*.py"):
        for module, _ in _import_nodes(path):
            if module.startswith("serving.pages") or module == "serving.app":
                wrong.append(str(path.relative_to(ROOT)))
    assert not wrong, wrong
    pages = {module for path in (ROOT / "serving" / "pages").rglob("*.py") for module, _ in _import_nodes(path)}
    assert "serving.api.service" in pages  # one reach rule, one trace, one set of plan rules for both


#: The service layer the API and the pages share, and the API's routers (one per resource).
SERVICE = ROOT / "serving" / "api" / "service"
ROUTER_FILES = ROOT / "serving" / "api" / "routers"


def _calls_of(path: Path, attribute: str) -> list[int]:
    """Lines of ``path`` that call a method named ``attribute`` (``x.reaches(...)``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
    ]


def test_routers_never_check_a_role_in_their_bodies() -> None:
    """A role is a route's dependency (``serving.api.deps.require_role``): a router module never
    reads a caller's role nor names one."""
    wrong = []
    for path in ROUTER_FILES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "role":
                wrong.append((str(path.relative_to(ROOT)), node.lineno, ".role"))
            if isinstance(node, ast.Name) and node.id == "Role":
                wrong.append((str(path.relative_to(ROOT)), node.lineno, "Role"))
    assert not wrong, wrong
    assert len(list(ROUTER_FILES.glob("*.py"))) >= 6  # the routers are where this test looks


def test_reach_and_trace_live_in_the_service_layer() -> None:
    """Only the service layer decides reach (``Principal.reaches``) and writes access entries
    (``AccessLog.record``): the routers and the pages go through it, so no read escapes its trace."""
    wrong = []
    for package in ("serving", "vigie"):
        for path in (ROOT / package).rglob("*.py"):
            if SERVICE in path.parents:
                continue
            wrong += [(str(path.relative_to(ROOT)), line, "reaches") for line in _calls_of(path, "reaches")]
            wrong += [(str(path.relative_to(ROOT)), line, "record") for line in _calls_of(path, "record")]
    assert not wrong, wrong


def test_every_api_route_of_pupil_data_or_the_model_is_traced_through_an_access_context() -> None:
    """Each route of ``/api/v1`` depends on the API's access context; health answers for anyone."""
    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute

    from serving.api.deps import api_context
    from serving.api.routers import ROUTERS

    def calls(dependant: Dependant) -> set[object]:
        return {dependant.call}.union(*(calls(d) for d in dependant.dependencies))

    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    untraced = [r.path for r in routes if r.path.startswith("/api/v1/") and api_context not in calls(r.dependant)]
    assert not untraced, untraced
    assert {r.path for r in routes if not r.path.startswith("/api/v1/")} == {"/healthz", "/readyz"}


#: Each shared rule and where it is written (a regular expression over code lines), with the
#: one file allowed to write it; everything else imports it from there.
ONE_HOME = {
    "default capacity": (r"(capacity|high)\w*\s*(:[^=]*)?=\s*(Field\(default=)?0\.10?\b", "models/operating_point.py"),
    "default horizon": (r"horizon\w*\s*(:[^=]*)?=\s*(Field\(default=)?365\b", "features/school.py"),
    "tier names": (r"[(\[]\"high\", \"medium\", \"low\"[)\]]", "features/school.py"),
    "start of a school year": (r"\b9, 1\)", "features/school.py"),
    "end of a school year": (r"\b8, 31\)|def school_year_end\(", "features/school.py"),
    "capacity metric names": (r"\}pct\"", "models/metrics.py"),
    "the deployer's marker": (r"\[À COMPLÉTER", "serving/notice.py"),
    # One reader and writer of the score history (serving's batch job): its folder names are
    # spelt, globbed and parsed back in serving/batch.py only; the service and the follow-up
    # report list the kept batches through it.
    "score history layout": (r"[\"']model_version=|[\"']as_of=\*|removeprefix\([\"']as_of=", "serving/batch.py"),
}
#: The independent oracles of the feature and validation tests spell their calendar on purpose.
ONE_HOME_EXEMPT = ("features/signals/pandas_reference.py", "features/ingest/pandas_reference.py")


@pytest.mark.parametrize("rule", sorted(ONE_HOME))
def test_each_rule_is_written_in_one_home(rule: str) -> None:
    """``grep`` finds the default capacity, the horizon, the tier names... defined once."""
    import re

    pattern, home = ONE_HOME[rule]
    found = {
        str(path.relative_to(ROOT))
        for path in _code_files()
        if not str(path.relative_to(ROOT)).startswith(ONE_HOME_EXEMPT)
        and any(re.search(pattern, line, re.IGNORECASE) for line in path.read_text(encoding="utf-8").splitlines())
    }
    assert found == {home}, f"{rule} written in {sorted(found)}; its home is {home}"


def test_no_mlflow_parameter_is_parsed_back_as_python() -> None:
    """Hand-offs between stages are typed artifacts, never ``ast.literal_eval`` of a parameter."""
    assert not [p for p in _code_files() if "literal_eval" in p.read_text(encoding="utf-8")]


def test_the_operating_point_and_the_paths_sit_where_every_stage_may_import_them() -> None:
    """models/operating_point.py and models/paths.py: read by training, fairness, monitoring and serving."""
    for name in ("operating_point", "paths"):
        used = {m.split(".")[0] for m, _ in _import_nodes(ROOT / "models" / f"{name}.py")}
        assert not used & (OURS - {"features", "models"}), name
    assert all(
        "models.operating_point" in {m for path in (ROOT / package).rglob("*.py") for m, _ in _import_nodes(path)}
        for package in ("training", "fairness", "monitoring", "serving")
    )


#: Run in a fresh interpreter: every module of ours imported first, alone (our modules are
#: dropped from ``sys.modules`` before each), so an import cycle shows whatever the order.
_IMPORT_EACH_ALONE = """
import importlib, sys
names = sys.argv[1:]
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] in {ours}]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed.append(f"{{name}}: {{error}}")
print("\\n".join(failed))
"""


@pytest.mark.slow
def test_every_module_imports_on_its_own() -> None:
    """``import serving.pages.wording`` in a notebook once failed on a cycle through the API's
    package, which the service's usual import order hid."""
    import subprocess
    import sys

    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in OURS
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and "templates" not in path.parts
    )
    script = _IMPORT_EACH_ALONE.format(ours=sorted(OURS))
    done = subprocess.run(
        [sys.executable, "-c", script, *modules], check=False, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not done.stdout.strip(), done.stdout


def _mentions_dict(hint: object) -> bool:
    """Whether a type hint is, or holds, a plain dict (``dict[str, Any]`` and kin)."""
    import typing

    return hint is dict or typing.get_origin(hint) is dict or any(_mentions_dict(a) for a in typing.get_args(hint))


def test_fairness_summary_and_reasons_cross_stages_typed() -> None:
    """The fairness summary (fairness -> serving) and a reason item (models -> serving) cross as
    pydantic models with one home in models/, never as dicts (issue 22)."""
    import typing

    from fairness.review import FairnessReview
    from models import reasons
    from models.fairness_summary import FAIRNESS_REPORT_ARTIFACT, FairnessSummary
    from models.reasons import ReasonItem
    from serving import batch
    from serving.api import schemas, state
    from serving.api.service import reads

    assert typing.get_type_hints(FairnessReview.summary)["return"] is FairnessSummary
    assert typing.get_type_hints(state.Serving)["fairness"] == FairnessSummary | None
    assert typing.get_type_hints(schemas.FairnessSummary)["report"] == FairnessSummary | None
    assert issubclass(schemas.Reason, ReasonItem)
    crossing = [reasons.reasons, reasons.ReasonColumns.as_lists, reasons._context_reason, batch.explain_rows]
    for function in crossing:
        returned = typing.get_type_hints(function)["return"]
        assert not _mentions_dict(returned), f"{function.__qualname__} returns {returned}"
        assert "ReasonItem" in str(returned), function.__qualname__
    assert "ReasonItem" in str(typing.get_type_hints(reads.as_reasons)["items"])
    # One home for the report's file name: the writer and the reader both take it from models/.
    named = [p for p in _code_files() if f'"{FAIRNESS_REPORT_ARTIFACT}"' in p.read_text(encoding="utf-8")]
    assert [str(p.relative_to(ROOT)) for p in named] == ["models/fairness_summary.py"]


#: The typed hand-offs that are stored and read back, each with its home: the module that
#: defines it, writes it and reads it (version-checked).
STORED_HAND_OFFS = {
    "features.signals.metadata": "FeatureMetadata",
    "models.operating_point": "OperatingPoint",
    "models.registry": "TrainingSplit",
    "models.fairness_summary": "FairnessSummary",
    "models.impact_result": "ImpactResult",
    "training.gate": "GateDecision",
    "serving.batch": "BatchMetadata",
}


@pytest.mark.parametrize("module", sorted(STORED_HAND_OFFS))
def test_stored_hand_offs_are_versioned_pydantic_models_read_in_their_home(module: str) -> None:
    """A hand-off between stages is a pydantic model carrying its format's version, and only its
    home module turns stored content back into it (``model_validate``), so its check is one."""
    import typing

    from pydantic import BaseModel

    name = STORED_HAND_OFFS[module]
    model = getattr(importlib.import_module(module), name)
    assert issubclass(model, BaseModel), name
    fields = model.model_fields.items()
    versions = [f for f, i in fields if f.endswith("version") and typing.get_origin(i.annotation) is typing.Literal]
    assert versions, f"{name} carries no Literal format version"
    home = ROOT / (module.replace(".", "/") + ".py")
    readers = {
        str(path.relative_to(ROOT))
        for path in _code_files()
        if f"{name}.model_validate" in path.read_text(encoding="utf-8")
    }
    assert readers <= {str(home.relative_to(ROOT))}, f"{name} is read outside its home: {sorted(readers)}"


def test_the_service_reads_batch_metadata_typed() -> None:
    """The pages and the API explain a tier from the typed :class:`BatchMetadata` (its operating
    point and thresholds), never from JSON read back as a dict whose keys a template must guard."""
    import typing

    from serving.api.state import ServedBatch
    from serving.batch import BatchMetadata

    assert typing.get_type_hints(ServedBatch)["metadata"] is BatchMetadata
    hints = typing.get_type_hints(ServedBatch)
    assert not [field for field, hint in hints.items() if "threshold" in field and _mentions_dict(hint)]


def test_the_promotion_gate_is_a_pure_function_that_mlflow_only_records() -> None:
    """training/gate.py decides from typed inputs and returns a typed decision; it neither logs,
    reads nor writes (training/tracking.py records the decision in MLflow)."""
    import typing

    from training.gate import GateDecision, promotion_gate

    gate = ROOT / "training" / "gate.py"
    used = {m.split(".")[0] for m, _ in _import_nodes(gate)}
    assert not used & {"mlflow", "os", "shutil", "subprocess", "logging", "tracking"}, used
    assert typing.get_type_hints(promotion_gate)["return"] is GateDecision
    assert "promotion_gate(" in (ROOT / "training" / "tracking.py").read_text(encoding="utf-8")


def test_one_typed_settings_object() -> None:
    """One pydantic-settings object (vigie/settings.py) reads the environment and vigie.toml; the
    service's settings are a part of it, not a second reader."""
    found = [
        (str(path.relative_to(ROOT)), node.name)
        for path in _code_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name | ast.Attribute) and ast.unparse(b).endswith("BaseSettings") for b in node.bases)
    ]
    assert found == [("vigie/settings.py", "VigieSettings")], found


#: Feature facts (meaning, label, monotone direction, reason wording) spelt outside the
#: catalogue would be a second truth; the oracles of the feature tests compute, they state none.
_FACT_EXEMPT = {"features/catalog.py", *ONE_HOME_EXEMPT}


def test_each_feature_is_one_catalogue_entry() -> None:
    """No structure beside features/catalog.py keys feature facts by feature name: a dict of three
    or more features whose values are all texts (labels, meanings, wordings) or all directions."""
    from features.catalog import FEATURE_NAMES, Feature

    assert {"meaning", "label_fr", "monotone", "reason"} <= set(Feature.__dataclass_fields__)
    names = set(FEATURE_NAMES)
    wrong = []
    for path in _code_files():
        where = str(path.relative_to(ROOT))
        if where in _FACT_EXEMPT:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            values = [v.value if isinstance(v, ast.Constant) else v for v in node.values]
            if len([k for k in keys if k in names]) < 3:
                continue
            texts = all(isinstance(v, str) for v in values)
            directions = all(v in (-1, 0, 1) and not isinstance(v, bool) for v in values) and any(values)
            if texts or directions:
                wrong.append((where, node.lineno))
    assert not wrong, wrong


def test_serving_shows_its_three_jobs() -> None:
    """Batch scoring and the score history (serving/batch.py), the API (serving/api, one router per
    resource, over the service layer it shares with the pages), the pages (serving/pages)."""
    assert (ROOT / "serving" / "batch.py").is_file()
    assert {p.stem for p in SERVICE.glob("*.py")} >= {"context", "errors", "plans", "reads"}
    routers = {p.stem for p in ROUTER_FILES.glob("*.py")} - {"__init__", "params"}
    assert routers >= {"admin", "health", "model", "plans", "pupils", "schools"}
    for folder in (ROUTER_FILES, ROOT / "serving" / "pages"):
        used = {m for path in folder.rglob("*.py") for m, _ in _import_nodes(path)}
        assert "serving.api.service" in used, f"{folder.relative_to(ROOT)} does not go through the service layer"


def test_only_impact_imports_the_gpl_libraries() -> None:
    """The rdrobust family (GPL-3.0, a recorded licence exception: docs/licence.md) stays in impact/:
    every other package runs without the optional extra."""
    gpl = {"rdrobust", "rddensity", "rdpower", "lpdensity"}
    wrong = [
        str(path.relative_to(ROOT))
        for path in _code_files()
        if path.relative_to(ROOT).parts[0] != "impact"
        and any(module.split(".")[0] in gpl for module, _ in _import_nodes(path))
    ]
    assert not wrong, wrong
    assert any("rdrobust" in m for p in (ROOT / "impact").rglob("*.py") for m, _ in _import_nodes(p))


#: Where each stage takes in per-pupil rows, and so must honour the objection register (GDPR art. 21).
HONOUR_OBJECTIONS = {
    "training": "training/train.py",
    "scoring": "serving/batch.py",
    "serving": "serving/api/state.py",
    "audits": "fairness/review.py",
    "monitoring": "monitoring/monitor.py",
    "follow-up report": "serving/followup_report.py",
    "impact evaluation": "impact/sample.py",
}


def test_every_stage_drops_objected_pupils_through_the_one_rule() -> None:
    """One home for "drop objected pupils" (``models/objections.py``, where every stage may import
    from): each stage imports it and calls it; no other module reads the register's table or
    filters on it by itself."""
    for stage, name in HONOUR_OBJECTIONS.items():
        path = ROOT / name
        imported = {m for m, _ in _import_nodes(path)}
        calls = _calls_of(path, "drop") + _calls_of(path, "kept")
        assert "models.objections" in imported and calls, f"{stage} ({name}) does not honour the objection register"
    readers = {
        str(p.relative_to(ROOT)) for p in _code_files() if "withdrawn_at.is_(None)" in p.read_text(encoding="utf-8")
    }
    assert readers <= {"models/objections.py", "serving/api/rights.py"}, readers  # the reader, and the writer


def test_every_reach_of_a_school_or_pupil_asks_the_staggered_start() -> None:
    """Wherever the service layer reaches a school's list or a pupil (the reach rule that raises 404), the
    staggered start's gate is asked next (issue 28, off by default): a new way in cannot forget it."""
    missing = []
    for path in (ROOT / "serving" / "api" / "service").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            raised = {n.exc.id for n in ast.walk(node) if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Name)}
            called = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            if raised & {"SchoolNotFoundError", "PupilNotFoundError"} and "check_started" not in called:
                missing.append(f"{path.name}:{node.name}")
    assert not missing, missing
