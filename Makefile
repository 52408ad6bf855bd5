# Everyday commands; see README.md. Only Python 3.11 is needed: the rest goes into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installing again only when requirements.txt is newer than the last install.
STAMP := $(VENV)/.installed-requirements
# Local runs use DEBUG (the settings refuse to start without a secret key otherwise).
DEV_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1}
PORT ?= 8000

.PHONY: help venv run test migrate seed admin lint format clean-var

help:
	@echo "make run      set up, migrate, seed the demo, print the admin password, serve on 127.0.0.1:$(PORT)"
	@echo "make test     set up and run the test suite (SQLite; PostgreSQL when DATABASE_URL is set)"
	@echo "make venv | migrate | seed | admin | lint | format | clean-var"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

seed: migrate
	$(DEV_ENV) $(BIN)/python manage.py seed_demo

admin: migrate
	$(DEV_ENV) $(BIN)/python manage.py ensure_demo_admin

run: venv
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py setup_periodic_tasks
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	$(DEV_ENV) $(BIN)/python manage.py ensure_demo_admin
	$(DEV_ENV) RUN_ADDR=127.0.0.1:$(PORT) scripts/run_dev.sh

test: venv
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Removes the local SQLite database and the filesystem broker's messages (the next `make run` seeds anew).
clean-var:
	rm -rf var
