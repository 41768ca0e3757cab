# Set-up is part of every target: a fresh machine needs only Python 3.11+, make and git.
PYTHON ?= python3
UV := .uv/bin/uv

.PHONY: run test lint check bench clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check "uv==0.13.8"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

run: .venv/.synced  ## start the bot (console chat on SQLite when no platform token is set)
	.venv/bin/loyalty run

lint: .venv/.synced
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

test: lint  ## lint, type-check and run the whole test suite
	.venv/bin/python -m pytest

bench: .venv/.synced  ## run the benchmarks (see docs/BENCHMARKS.md)
	.venv/bin/python -m benchmarks all

clean:
	rm -rf .venv .uv .pytest_cache .mypy_cache .ruff_cache .hypothesis
