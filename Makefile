# The two commands: `make run` (the app) and `make test` (the whole suite). Both set up first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-browser

.PHONY: setup run test lint bench

setup: $(STAMP)

$(STAMP): requirements.txt requirements-app.txt requirements-dev.txt packages.txt scripts/setup.sh scripts/install_torch.sh
	bash scripts/setup.sh

# The tests also need Debian's chromium for the browser suite.
$(TEST_STAMP): requirements.txt requirements-app.txt requirements-dev.txt packages.txt scripts/setup.sh scripts/install_torch.sh
	bash scripts/setup.sh --browser

# Local use: the developer menu, and the VAE page may read MNIST from a folder on this computer
# (CONE_EXPLORER_SERVER_FILES=1; never set it on a hosted demo: visitors would read its disk).
run: setup
	CONE_EXPLORER_SERVER_FILES=1 $(VENV)/bin/streamlit run app.py --client.toolbarMode auto

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) -m conecore.bench

# Opt-in (not part of `make test`): 10 browser sessions against a real server, see
# scripts/load_test.py for the options (ARGS="--explode", ARGS="--visit-all --sessions 1").
.PHONY: load
load: setup
	$(PY) -m scripts.load_test $(ARGS)

# Opt-in: a class of N sessions without browsers (Streamlit's websocket protocol), so the
# server's own latency is measured (ARGS="--sessions 30").
.PHONY: class-load
class-load: setup
	$(PY) -m scripts.class_load $(ARGS)
