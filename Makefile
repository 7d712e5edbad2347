# Two commands do everything on a fresh machine (Python 3.11 and the package registries):
#   make demo   set up, then run the main job end to end on embedded defaults
#   make test   set up, then run the checks and the test suite (what CI runs)
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DSFR := serving/pages/static/dsfr
DSFR_STAMP := $(DSFR)/.installed
#: The part of the State design system's dist/ the pages use (the whole is 88 MB).
DSFR_FILES := dsfr.min.css dsfr.module.min.js dsfr.nomodule.min.js utility/icons/icons.min.css icons fonts favicon
#: Swagger UI for /docs (its initialiser is our own static/api-docs.js: no inline script).
SWAGGER := serving/pages/static/swagger
SWAGGER_FILES := swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE
DEMO_DIR ?= data/demo
DEMO_PUPILS ?= 20000
DEMO_SEED ?= 42
#: Marks per subject and year in the demo: lighter than the realistic 25 the benchmarks use, so that
#: the demo runs in minutes.
DEMO_GRADES ?= 5
DEMO_SERVE ?= yes
#: The demo service's 'today': a month after its batch, so that plan reviews read as they would then.
DEMO_TODAY ?= 2025-04-30
SECRET_FILE := data/secrets/service.secret
#: The demo keeps everything it writes (MLflow store, model cards, score history, monitoring,
#: the service's database and logs) under DEMO_DIR, made afresh by each 'make demo': its model
#: is always this code's, never a champion left by an earlier run. The keys stay in data/secrets.
DEMO_DATA_DIR := $(abspath $(DEMO_DIR))

export MLFLOW_DISABLE_TELEMETRY := true
export SPARK_LOCAL_IP := 127.0.0.1
export PYTHONHASHSEED := 0
#: Material for MkDocs prints an end-of-life banner at each build; the docs build stays quiet.
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup demo test test-fast lint lock clean mlflow-ui system-deps serve docs docs-build docs-reference

setup: $(STAMP) $(DSFR_STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e '.[impact]'
	touch $(STAMP)

# The DSFR and Swagger UI from npm (package-lock.json), only the files the service serves, nothing
# loaded from outside; --ignore-scripts: no install script runs (swagger-ui-dist's analytics one included).
$(DSFR_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(DSFR) && mkdir -p $(DSFR)
	cd node_modules/@gouvfr/dsfr/dist && cp -r --parents $(DSFR_FILES) $(CURDIR)/$(DSFR)/
	rm -rf $(SWAGGER) && mkdir -p $(SWAGGER)
	cd node_modules/swagger-ui-dist && cp $(SWAGGER_FILES) $(CURDIR)/$(SWAGGER)/
	touch $(DSFR_STAMP)

demo serve mlflow-ui: export VIGIE_DATA_DIR := $(DEMO_DATA_DIR)

demo: setup
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR) data/secrets
	$(BIN)/vigie synth --out $(DEMO_DIR)/raw --pupils $(DEMO_PUPILS) --seed $(DEMO_SEED) --years 2019-2024 --inject-errors 25 --grades-per-subject $(DEMO_GRADES)
	@test -f data/secrets/demo.key || $(BIN)/vigie keygen data/secrets/demo.key
	$(BIN)/vigie pseudonymise --key-file data/secrets/demo.key --names-out $(DEMO_DIR)/names $(DEMO_DIR)/raw $(DEMO_DIR)/extract
	$(BIN)/vigie validate $(DEMO_DIR)/extract --out $(DEMO_DIR)/validated
	$(BIN)/vigie features --data $(DEMO_DIR)/validated --config configs/features.yaml --out $(DEMO_DIR)/features
	$(BIN)/vigie train --data $(DEMO_DIR)/features --config configs/train.yaml --fairness-config configs/fairness.yaml
	@# A batch of a year whose outcomes are known (12 months later): what 'vigie impact' evaluates below.
	$(BIN)/vigie score --data $(DEMO_DIR)/validated --as-of 2023-12-15 --out $(DEMO_DIR)/scores > /dev/null
	$(BIN)/vigie score --data $(DEMO_DIR)/validated --as-of 2024-12-15 --out $(DEMO_DIR)/scores > /dev/null
	$(BIN)/vigie score --data $(DEMO_DIR)/validated --as-of 2025-03-31 --out $(DEMO_DIR)/scores
	$(BIN)/vigie audit --data $(DEMO_DIR)/validated --as-of 2024-06-15 --model champion --config configs/fairness.yaml --synthetic-data --out $(DEMO_DIR)/fairness
	@# monitoring exits 3 when an alert fires: a verdict for schedulers, not a failure of the demo
	$(BIN)/vigie monitor --data $(DEMO_DIR)/validated --as-of 2025-03-31 || test $$? -eq 3
	$(BIN)/vigie notice --out $(DEMO_DIR)/notice --config configs/notice.yaml
	$(BIN)/vigie dossier --model champion --out $(DEMO_DIR)/dossier --config configs/notice.yaml
	@echo "Demo outputs are under $(DEMO_DIR)/ (raw, extract, names, validated, features, scores, fairness, model_cards, score_history, monitoring, impact, notice, dossier); MLflow store: $(DEMO_DIR)/mlflow (make mlflow-ui)."
	@test -f $(SECRET_FILE) || (umask 077 && $(PY) -c "import secrets; print(secrets.token_hex(32))" > $(SECRET_FILE))
	@school=$$($(BIN)/python -c "import pandas as pd; print(pd.read_parquet('$(DEMO_DIR)/scores/scores_2025-03-31.parquet')['school_id'].value_counts().index[0])"); \
	  echo ""; \
	  echo "Pages for school staff: http://127.0.0.1:8000/  (API under /api/v1, documentation at /docs)"; \
	  echo "Sign in with this staff token of school $$school, valid 8 hours:"; \
	  VIGIE_SERVICE__SECRET=$$(cat $(SECRET_FILE)) $(BIN)/vigie token --role staff --school $$school --subject demo-cpe --ttl 8h; \
	  echo "« Afficher les noms » reads the school's own file: $(DEMO_DIR)/names/correspondance_$$school.csv"; \
	  $(BIN)/vigie followup seed-demo --school $$school || exit 1; \
	  echo "The service's today is $(DEMO_TODAY) (the batch is of 2025-03-31), so that some reviews are overdue."; \
	  echo ""
	@# Do the flags help? The regression discontinuity at the cuts, on the batches whose outcomes are known and
	@# the plans of the service's database: at a district's size it rightly says the sample is too small.
	$(BIN)/vigie impact --data $(DEMO_DIR)/validated --from 2023-09-01 --to 2025-03-31
ifneq ($(DEMO_SERVE),no)
	@echo "Serving on 127.0.0.1:8000 (Ctrl-C to stop; 'make demo DEMO_SERVE=no' skips this step, 'make serve' restarts it)."
	@$(MAKE) --no-print-directory serve
endif

lint: setup
	$(BIN)/python -m tests.support.licences
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The documentation site (mkdocs.yml, docs/). Its reference pages are generated from the code and the
# notebooks it shows are executed first (neither is committed); --strict makes a broken link an error.
DOCS_NOTEBOOKS := 04_model_analysis 05_fairness_deep_dive
DOCS_EXECUTED := $(DOCS_NOTEBOOKS:%=docs/notebooks/%.ipynb)
PACKAGE_SOURCES := $(shell find features models training fairness monitoring serving vigie -name '*.py' 2>/dev/null)

docs/notebooks/%.ipynb: notebooks/%.ipynb docs/execute_notebooks.py $(PACKAGE_SOURCES) | setup
	$(BIN)/python docs/execute_notebooks.py $< $@

docs-reference: setup
	$(BIN)/python docs/gen_reference.py

docs-build: docs-reference $(DOCS_EXECUTED)
	$(BIN)/mkdocs build --strict --quiet

docs: docs-reference $(DOCS_EXECUTED)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

system-deps:
	@bash tests/support/install-system-deps.sh

# The site is built after the tests: tests/test_notebooks.py leaves the executed copies it renders.
test: lint system-deps
	$(BIN)/pytest
	$(MAKE) --no-print-directory docs-build

# The inner loop while changing code: the tests not marked slow, browser or integration (markers in
# pyproject.toml), on pytest's two workers. What it leaves out still runs in CI: 'make test' runs all.
FAST_TESTS := not slow and not browser and not integration

test-fast: setup
	$(BIN)/pytest -m "$(FAST_TESTS)"

lock:
	rm -rf .lockenv && $(PY) -m venv .lockenv
	.lockenv/bin/pip install --quiet -c ../shared/reference/constraints-tested.txt 'setuptools==80.9.0' -e '.[dev,impact]'
	{ echo "# Vigie lock file: every package the project installs, pinned exactly."; \
	  echo "# Resolved from pyproject.toml within ../shared/reference/constraints-tested.txt; regenerate with 'make lock'."; \
	  .lockenv/bin/pip freeze --all | grep -v -E '^(-e|pip==|vigie|# Editable)'; } > requirements.lock
	rm -rf .lockenv

serve: setup
	VIGIE_SERVICE__SECRET=$$(cat $(SECRET_FILE)) VIGIE_SERVICE__PSEUDONYM_KEY_FILE=data/secrets/demo.key \
	  VIGIE_SERVICE__REFERENCE_DATE=$(DEMO_TODAY) \
	  VIGIE_SERVICE__NOTICE_FILE=configs/notice.yaml \
	  $(BIN)/vigie serve --host 127.0.0.1 --port 8000

mlflow-ui: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(DEMO_DATA_DIR)/mlflow/mlflow.db --host 127.0.0.1 --port 5000

clean:
	rm -rf $(VENV) node_modules $(DSFR) $(SWAGGER) data/demo .pytest_cache .mypy_cache .ruff_cache site docs/reference docs/notebooks .cache
