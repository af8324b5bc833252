# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Exact versions of every dependency; `make constraints` refreshes them.
CONSTRAINTS := requirements/constraints.txt
# apt-get needs root; use sudo when we are not root and it exists.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

# `make demo PORT=5050` serves elsewhere; survey links, cards and messages follow the port
# unless IMPACTMODEL_BASE_URL is set already.
PORT ?= 5000
IMPACTMODEL_BASE_URL ?= http://127.0.0.1:$(PORT)
# Demo cookies are not marked Secure because the demo is served over plain http on loopback.
DEMO_ENV := IMPACTMODEL_SESSION_COOKIE_SECURE=false IMPACTMODEL_REMEMBER_COOKIE_SECURE=false \
	IMPACTMODEL_BASE_URL=$(IMPACTMODEL_BASE_URL)

# Runs a command and says how long it took.
timed = start=$$(date +%s); $(1) && echo "  done in $$(( $$(date +%s) - start )) s."

.PHONY: demo demo-port test install install-test versions constraints system-deps python-venv clean translations

$(BIN)/python: | python-venv
	@echo "Creating the virtual environment $(VENV) (a few seconds)..."
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip

install: $(BIN)/python
	@echo "Installing impactmodel and its dependencies at the versions in $(CONSTRAINTS)"
	@echo "  (about a minute the first time, some seconds after)..."
	@$(call timed,$(PIP) install --quiet -c $(CONSTRAINTS) -e .)

install-test: $(BIN)/python
	@echo "Installing impactmodel with its test dependencies at the versions in $(CONSTRAINTS)"
	@echo "  (two or three minutes the first time, some seconds after)..."
	@$(call timed,$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[test]')

# The installed versions, for reading a test run from another machine.
versions: $(BIN)/python
	@$(BIN)/python --version
	@$(PIP) list --format=freeze --exclude-editable

# Resolve the newest releases allowed by pyproject.toml in a fresh environment and pin them.
constraints:
	@echo "Resolving every dependency afresh in a temporary virtual environment (about two minutes)..."
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		$(PYTHON) -m venv "$$tmp/venv" && \
		"$$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip && \
		"$$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check '.[test]' && \
		{ sed -n '/^#/p' $(CONSTRAINTS); \
		  "$$tmp/venv/bin/python" -m pip freeze --exclude impactmodel; } > "$$tmp/constraints.txt" && \
		mv "$$tmp/constraints.txt" $(CONSTRAINTS)
	@echo "Wrote $(CONSTRAINTS): run \`make test\`, then commit it."

# The respondents' pages in other languages: gather the words marked for translation into
# impactmodel/translations/messages.pot, add new ones to each language's messages.po for its
# translator, and compile the .mo files the app reads. The .mo files are committed, so a fresh
# clone runs without this step; tests/test_languages.py fails when they are out of date.
BABEL_DIR := impactmodel/translations
translations: install
	@$(BIN)/pybabel --quiet extract -F babel.cfg --no-location --sort-output -k _ -k _l -k gettext -k ngettext:1,2 \
		--project=impactmodel -o $(BABEL_DIR)/messages.pot .
	@$(BIN)/pybabel --quiet update -i $(BABEL_DIR)/messages.pot -d $(BABEL_DIR) -w 100 --no-fuzzy-matching
	@$(BIN)/pybabel compile -d $(BABEL_DIR) --statistics

# Debian splits venv support (ensurepip) into its own package.
python-venv:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
		echo "Installing python3-venv (Debian/Ubuntu package)..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv >/dev/null; }

# The test suite starts its own PostgreSQL cluster, drives the system's Chromium (Debian's
# package `chromium`; on Ubuntu `chromium-browser`, which installs the snap) and opens
# exported CSV files in LibreOffice Calc without a display (`libreoffice-calc-nogui`,
# about 90 MB to download) to check that no cell becomes a formula.
system-deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && \
		{ [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || [ -x /snap/bin/chromium ]; } && \
		command -v soffice >/dev/null; then \
		echo "PostgreSQL server, Chromium and LibreOffice Calc are installed."; \
	else \
		if grep -qx 'ID=ubuntu' /etc/os-release; then browser=chromium-browser; else browser=chromium; fi; \
		echo "Installing the PostgreSQL server, Chromium ($$browser) and LibreOffice Calc with apt-get (a few minutes)..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql $$browser >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			libreoffice-calc-nogui >/dev/null; \
	fi

# Before anything is installed or loaded: a busy port is refused with a free one to use.
demo-port:
	@$(PYTHON) impactmodel/demo/port.py $(PORT)

demo: demo-port install
	@echo "Loading the demo consortium (about a minute the first time)..."
	@$(call timed,$(DEMO_ENV) $(BIN)/impactmodel demo-data)
	$(DEMO_ENV) $(BIN)/impactmodel run --host 127.0.0.1 --port $(PORT)

test: system-deps install-test
	@echo "Running the test suite (several minutes)..."
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
