# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
# WeasyPrint (the receipt's and poster's PDF) loads Debian's pango; the PDFs embed DejaVu for Vietnamese.
PANGO := /usr/share/doc/libpangoft2-1.0-0/copyright
DEJAVU := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

.PHONY: run test lint fmt typecheck pytest lock clean-data chaos

$(STAMP): pyproject.toml constraints.txt | $(PANGO) $(DEJAVU)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## Start Temporal dev server, worker, API and fake Zalo in one terminal (Ctrl-C stops all).
run: $(STAMP)
	$(BIN)/python -m scripts.run_local

## Lint, type-check and run the whole test suite.
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## One kind of test: make test-unit | test-workflow | test-api | test-pages | test-db | test-zalo | test-security | test-e2e
test-%: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest tests/$* $(PYTEST_ARGS)

## The browser tests drive Debian's Chromium (Playwright never downloads one); installed only when missing.
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

## WeasyPrint's native libraries and the fonts its PDFs embed; installed only when missing.
$(PANGO) $(DEJAVU):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core

## Fault injection (docs/reliability.md): kills and breaks every process while dossiers go through their
## lives; one JSON line per scenario and a summary, non-zero on any loss, duplicate, refused retry or 500.
## The size: make chaos CHAOS_ARGS="--lifecycles 40 --kills 5 --window-kills 200"
CHAOS_ARGS ?= --lifecycles 10 --kills 3 --window-kills 20
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Re-pin every dependency (run after changing pyproject.toml).
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet --upgrade pip
	.lockvenv/bin/python -m pip install --quiet '.[dev]'
	( echo '# Exact versions every machine installs; regenerate with `make lock`.'; \
	  .lockvenv/bin/python -m pip freeze --exclude-editable | grep -v '^dossier-tracker' ) > constraints.txt
	rm -rf .lockvenv build *.egg-info

clean-data:
	rm -rf .data
