# The two commands: `make run` serves crmbatch, `make test` runs the whole suite.
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3.11
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint format typecheck bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "crmbatch needs $(PYTHON) (Python 3.11+); set PYTHON=..." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# make run PORT=8001 HOST=0.0.0.0; CRMBATCH_* settings given here reach the server too
run: $(STAMP)
	$(BIN)/crmbatch serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/python -m pytest -n 2 --dist loadfile

# the longer hunt: 500 examples per operation and 500 engine sequences per backend
fuzz: $(STAMP)
	CRMBATCH_FUZZ_EXAMPLES=500 CRMBATCH_MODEL_EXAMPLES=500 $(BIN)/python -m pytest -n 2 \
		tests/test_fuzz.py tests/core/test_engine_model.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python benchmarks/upsert.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
