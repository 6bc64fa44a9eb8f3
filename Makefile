# The two commands of the README: `make run` and `make test`. Both install first.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
APT_PACKAGES := tesseract-ocr tesseract-ocr-pol tesseract-ocr-eng poppler-utils chromium fonts-dejavu-core
# Only for `make test`: when no PostgreSQL answers, the tests start a throwaway cluster from
# Debian's server binaries (tests/pg.py); the mailbox tests start an unprivileged Dovecot
# (tests/cesja/imap_server.py).
TEST_APT_PACKAGES := postgresql dovecot-imapd
# Only for `make test` and `make bench`: the scan simulator's PC-fax captures run Ghostscript.
SIMULATOR_APT_PACKAGES := ghostscript
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The Python packages come from uv.lock (exact versions and hashes), installed by a pinned uv that
# pip brings into .tools/. uv uses the machine's python3 and never downloads one of its own.
UV_VERSION := 0.13.9
UV := .tools/bin/uv
UV_STAMP := .tools/uv-$(UV_VERSION)
export UV_PYTHON_DOWNLOADS := never
# Debian's tesseract uses OpenMP; one thread per process is faster on two cores (DESIGN.md).
export OMP_THREAD_LIMIT := 1

.PHONY: install system-packages run test lint bench lock clean

install: system-packages $(VENV)/.installed

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; fi

$(UV_STAMP):
	rm -rf .tools
	python3 -m venv .tools
	.tools/bin/pip install -q 'uv==$(UV_VERSION)'
	touch $@

# Exactly the lock: what it lacks is installed, what it does not hold is removed. --locked
# refuses a lock that no longer fits pyproject.toml (run `make lock`).
$(VENV)/.installed: pyproject.toml uv.lock $(UV_STAMP)
	$(UV) sync --locked --all-extras --python python3 \
	  || { echo "where uv.lock no longer fits pyproject.toml, make lock updates it" >&2; exit 1; }
	touch $@

# `make lock` fits uv.lock to a changed pyproject.toml and keeps every other version;
# `make lock UPGRADE=1` moves every package to the newest version pyproject.toml allows.
lock: $(UV_STAMP)
	$(UV) lock $(if $(UPGRADE),--upgrade)

run: install
	$(VENV)/bin/cesja serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: test-packages simulator-packages
test-packages: simulator-packages
	@packages="$(filter-out postgresql,$(TEST_APT_PACKAGES))"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages="$$packages postgresql"; \
	$(MAKE) --no-print-directory system-packages APT_PACKAGES="$$packages"

simulator-packages:
	@$(MAKE) --no-print-directory system-packages APT_PACKAGES="$(SIMULATOR_APT_PACKAGES)"

# The suite in TEST_PROCESSES processes (pytest-xdist): much of a test's time is waiting for a
# service it started, and the other process meanwhile uses the core. A file's tests stay in
# one process (loadfile), so what a file starts once for its tests is started once (under the
# same load, 20 min with loadfile against 24 with worksteal and 27 in one process).
TEST_PROCESSES ?= 2
test: lint test-packages
	$(VENV)/bin/pytest -q -n $(TEST_PROCESSES) --dist loadfile

# Every benchmark runs even when one misses a target; the rule fails if any does.
bench: install simulator-packages
	@status=0; \
	$(PY) bench/forms.py || status=1; \
	$(PY) bench/ingest.py || status=1; \
	$(PY) bench/accuracy.py || status=1; \
	$(PY) bench/load.py || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
