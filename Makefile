# The two commands of the README: `make run` and `make test`. Both install first.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
APT_PACKAGES := tesseract-ocr tesseract-ocr-pol tesseract-ocr-eng poppler-utils chromium fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian's tesseract uses OpenMP; one thread per process is faster on two cores (DESIGN.md).
export OMP_THREAD_LIMIT := 1

.PHONY: install system-packages run test lint bench clean

install: system-packages $(VENV)/.installed

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: install
	$(VENV)/bin/cesja serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(VENV)/bin/pytest -q

# Every benchmark runs even when one misses a target; the rule fails if any does.
bench: install
	@status=0; \
	$(PY) bench/forms.py || status=1; \
	$(PY) bench/ingest.py || status=1; \
	$(PY) bench/accuracy.py || status=1; \
	$(PY) bench/load.py || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
