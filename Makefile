# Two commands: `make run` serves the app on the shipped default model, `make test` runs the
# whole gate. Both create .venv and install everything on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format clean browser redis

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps facenet-pytorch==2.6.0  # MTCNN weights (pyproject.toml)
	touch $@

install: $(STAMP)

run: install
	$(BIN)/ffedit serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Debian's Chromium for the browser tests (tests/e2e); where it cannot be installed (not
# root, no apt) those tests are skipped with this reason.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
		|| echo "chromium is missing and cannot be installed here: tests/e2e will be skipped"

# Debian's redis-server for the worker tests (tests/api/test_api_workers.py, which start
# their own on a free loopback port, never a system service); where it cannot be installed
# those tests are skipped with this reason.
redis:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; } \
		|| echo "redis-server is missing and cannot be installed here: the worker tests will be skipped"

test: lint browser redis
	$(BIN)/pytest -q
	node --test tests/frontend/

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
