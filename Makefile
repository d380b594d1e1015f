# Two commands matter: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv browser run demo test lint typecheck unit bench eval mutate screens clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The console's tests drive Debian's chromium through Playwright (which cannot fetch browsers of
# its own here). Installed when missing and apt-get can run; otherwise those tests say why they
# did not run (and fail under CI).
CHROMIUM := /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium >/dev/null; } || \
		echo "chromium is not installed and cannot be here: the console's browser tests will say so"

# Decide a few real actions with the example standing orders, then serve the API on SQLite with
# those orders, creating an admin on first start (its one-time password and token are printed).
run: venv
	@$(BIN)/watchkeeper lint examples/infra
	@for f in examples/actions/*.json; do \
		echo; echo "── $$f"; \
		$(BIN)/watchkeeper check --orders examples/infra $$f || exit $$?; \
	done
	@echo; echo "── the server (Ctrl-C stops it)"
	@$(BIN)/watchkeeper serve --orders examples/infra --host 127.0.0.1 --port 8470 \
		--admin admin@example.com

# The incident this project exists for, replayed: an agent's plan to destroy production is held,
# an approver reads it and denies it with an instruction, and the agent stops (examples/incident).
demo: venv
	@$(BIN)/python examples/incident/demo.py

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy --strict src/

# Coverage is enforced on the whole package; raise the bar as it rises, never lower it.
# Tests run on every core (at most four): each has its own SQLite file and PostgreSQL schema.
unit: venv browser
	$(BIN)/pytest -n auto --maxprocesses 4 --cov --cov-fail-under=94

test: lint typecheck unit

# Peers are installed here only: squidbrake from PyPI, cc-safety-net from npm (if node is there).
bench: venv
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@if command -v npm >/dev/null; then cd bench/peers && npm ci --silent --no-audit --no-fund; \
	else echo "npm not found: cc-safety-net is left out of the peer comparison"; fi
	$(BIN)/python -m bench

# The console's pages as pictures, on a desktop and a phone, in docs/screens/.
screens: venv browser
	$(BIN)/python -m tests.console.screens docs/screens

# The analyzers over the peer corpus beside the repository: writes bench/EVAL.md.
eval: venv
	$(BIN)/python -m bench.eval

# One planted bug at a time in the invariants; each must be caught: writes bench/MUTATION.md.
mutate: venv
	$(BIN)/python -m bench.mutate

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
