# `make run` starts the app, `make test` runs every check; both create .venv on first use.
# The first Python the project supports (pyproject: >=3.11,<3.13), else python3 for pip to refuse clearly.
SUPPORTED := import sys; sys.exit(not (3, 11) <= sys.version_info < (3, 13))
PYTHON ?= $(or $(shell for p in python3.12 python3.11 python3; do $$p -c '$(SUPPORTED)' 2>/dev/null && echo $$p && break; done),python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean i18n

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt  # with roleext itself, editable
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run serve.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy roleext app.py serve.py pages

test: lint
	$(BIN)/pytest

# The message catalogs: extract the app's messages, merge them into each .po, compile the .mo.
# Translate every empty msgstr in roleext/locale/*/LC_MESSAGES/roleext.po, then run it again.
i18n: $(STAMP)
	$(BIN)/pybabel extract --project roleext --version 0.1.0 --no-location --sort-output --no-wrap --copyright-holder roleext \
		-o roleext/locale/roleext.pot app.py pages roleext
	$(BIN)/pybabel update -D roleext -i roleext/locale/roleext.pot -d roleext/locale --no-wrap --no-fuzzy-matching
	$(BIN)/pybabel compile -D roleext -d roleext/locale --statistics

bench: $(STAMP)
	$(BIN)/python benchmarks/import_export.py
	$(BIN)/python benchmarks/export_formats.py
	$(BIN)/python benchmarks/batch.py
	$(BIN)/python benchmarks/digest_survival.py
	$(BIN)/python benchmarks/review_latency.py
	$(BIN)/python benchmarks/concurrency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
