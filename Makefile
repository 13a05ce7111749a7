# The two commands: `make run` (the app) and `make test` (the whole suite). Both set up first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt packages.txt scripts/setup.sh
	bash scripts/setup.sh

run: setup
	$(VENV)/bin/streamlit run app.py

test: setup
	$(PY) -m pytest -n 2

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) -m conecore.bench
