# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# apt-get needs root; use sudo when we are not root and it exists.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: demo test install install-test system-deps python-venv clean

$(BIN)/python: | python-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# Debian splits venv support (ensurepip) into its own package.
python-venv:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv >/dev/null; }

# The test suite starts its own PostgreSQL cluster and drives Debian's Chromium.
system-deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -x /usr/bin/chromium ]; then \
		echo "PostgreSQL server and Chromium are installed."; \
	else \
		echo "Installing PostgreSQL server and Chromium (Debian packages)..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql chromium >/dev/null; \
	fi

# Demo cookies are not marked Secure because the demo is served over plain http on loopback.
demo: install
	IMPACTMODEL_SESSION_COOKIE_SECURE=false IMPACTMODEL_REMEMBER_COOKIE_SECURE=false \
		$(BIN)/impactmodel demo-data
	IMPACTMODEL_SESSION_COOKIE_SECURE=false IMPACTMODEL_REMEMBER_COOKIE_SECURE=false \
		$(BIN)/impactmodel run --host 127.0.0.1 --port 5000

test: system-deps install-test
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
