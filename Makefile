# The README's two commands: `make test` and `make demo`. Both work on a fresh Debian/Ubuntu
# machine with Python 3.11+; `make test` installs Dovecot through apt when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Instants (UTC) at which `make test` runs the integration tests again under libfaketime, so a
# wall-clock read hidden anywhere in the desk fails here and not at a user's: a working-day
# evening after the digest time, the night summer time starts, and New Year's Eve in UTC that
# is already New Year's Day in Amsterdam. Tests marked `timed_waits` (IMAP IDLE, the daemon's
# backoff) stall under libfaketime and run only in the plain run. The clock is set as an
# offset from now, not "@instant", so every process the tests start (the CLI as an operator
# runs it, parse workers) shares one timeline instead of each starting at the instant anew.
FAKETIME_INSTANTS ?= 2026-12-07T18:30:00 2027-03-28T01:30:00 2026-12-31T23:30:00
# The faketime rounds run in parallel workers (pytest-xdist): each test starts its own Dovecot,
# SMTP server and store on free ports, and much of a test's time is spent waiting on them, so
# two workers halve a round even on 2 cores (measured: 6 min 36 s -> 3 min 21 s under load).
FAKETIME_WORKERS ?= auto
# The first faketime round runs on PostgreSQL instead of SQLite (MAILTRIAGE_TEST_STORE, read by
# tests/support/postgres.py), so the integration suite runs on both store backends without a
# fourth round: `make test` must stay within its time budget.
FAKETIME_POSTGRES_INSTANT ?= 2026-12-07T18:30:00

.PHONY: test test-plain test-faketime demo lint dovecot postgresql gnupg faketime systemd-tools p7zip chromium venv clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An editable install compiles nothing (a wheel's install does): compileall writes the bytecode
# once, so the CLI does not compile the whole package at every start, even where
# PYTHONDONTWRITEBYTECODE is set (a read-only command then starts in 0.27 s, not 0.35 s).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q src >/dev/null
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src >/dev/null
	touch $@

venv: $(VENV)/.installed-test

# gpg decrypts, in the OpenPGP tests, what the desk sends, as a reporter's mail client would.
gnupg:
	@if ! command -v gpg >/dev/null 2>&1; then \
		echo "installing GnuPG (gnupg) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gnupg >/dev/null; \
	fi

dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
		echo "installing Dovecot (dovecot-imapd) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi

# PostgreSQL (initdb and postgres in /usr/lib/postgresql/<ver>/bin): the tests start a
# private server from a temporary folder (tests/support/postgres.py), never the system one.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL (postgresql) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi

faketime:
	@if ! command -v faketime >/dev/null 2>&1; then \
		echo "installing libfaketime (faketime) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq faketime >/dev/null; \
	fi

# systemd-analyze, for the test that verifies mailtriage.service (no running systemd needed).
systemd-tools:
	@if ! command -v systemd-analyze >/dev/null 2>&1; then \
		echo "installing systemd-analyze (systemd) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq systemd >/dev/null; \
	fi

# 7z, for the test that opens the AES-encrypted attachments ZIP (#attachments) in a standard
# tool, as staff will.
p7zip:
	@if ! command -v 7z >/dev/null 2>&1; then \
		echo "installing 7z (p7zip-full) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq p7zip-full >/dev/null; \
	fi

# Headless Chromium, for the test that renders `mailtriage report --html` (tests/browser/).
chromium:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
		echo "installing Chromium (chromium) through apt"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench migrations demo

test: test-plain test-faketime

test-plain: $(VENV)/.installed-test dovecot postgresql gnupg systemd-tools p7zip chromium lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-faketime: $(VENV)/.installed-test dovecot postgresql gnupg faketime p7zip
	@set -e; for instant in $(FAKETIME_INSTANTS); do \
		at=$$(echo $$instant | tr T ' '); \
		offset=$$(( $$(date -u -d "$$at" +%s) - $$(date -u +%s) )); \
		store=sqlite; [ "$$instant" = "$(FAKETIME_POSTGRES_INSTANT)" ] && store=postgresql; \
		echo "integration tests on $$store with the machine's clock at $$at UTC (libfaketime)"; \
		MAILTRIAGE_TEST_STORE=$$store TZ=UTC faketime -f "$$(printf '%+d' $$offset)" \
			$(BIN)/python -m pytest -q -p no:cacheprovider -n $(FAKETIME_WORKERS) \
			-m "integration and not timed_waits" tests/integration $(PYTEST_ARGS); \
	done

demo: $(VENV)/.installed
	$(BIN)/python demo/run_demo.py

bench: $(VENV)/.installed-test dovecot postgresql gnupg
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/textwork.py
	$(BIN)/python bench/openpgp.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/bigstore.py

clean:
	rm -rf $(VENV) demo/run .pytest_cache .ruff_cache
