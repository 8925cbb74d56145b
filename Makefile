# The README's two commands: `make test` and `make demo`. Both work on a fresh Debian/Ubuntu
# machine with Python 3.11+; `make test` installs Dovecot through apt when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo lint dovecot systemd-tools venv clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

venv: $(VENV)/.installed-test

dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
		echo "installing Dovecot (dovecot-imapd) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi

# systemd-analyze, for the test that verifies mailtriage.service (no running systemd needed).
systemd-tools:
	@if ! command -v systemd-analyze >/dev/null 2>&1; then \
		echo "installing systemd-analyze (systemd) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq systemd >/dev/null; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench migrations demo

test: $(VENV)/.installed-test dovecot systemd-tools lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(VENV)/.installed
	$(BIN)/python demo/run_demo.py

bench: $(VENV)/.installed-test dovecot
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/textwork.py

clean:
	rm -rf $(VENV) demo/run .pytest_cache .ruff_cache
