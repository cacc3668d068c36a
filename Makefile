# The two commands a new machine needs (see README.md):
#   make demo   - install, start Kafka + ClickHouse + workers + API + dashboards, feed demo traffic
#   make test   - install, lint, start Kafka + ClickHouse, run every test
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format up down status logs clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

up: $(STAMP)
	$(PY) -m infra up

down: $(STAMP)
	$(PY) -m infra down

status: $(STAMP)
	$(PY) -m infra status

logs: $(STAMP)
	$(PY) -m infra logs

test: lint
	$(PY) -m infra up
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m infra demo

clean:
	-$(PY) -m infra down
	rm -rf var
