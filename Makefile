# The two quick-start commands: `make run` and `make test`. Each sets up .venv on first use:
# `make run` with what the local runtime needs (the `local` extra), `make test` with the
# `dev` extra as well (test tools, linters, stubs, benchmark libraries).
VENV ?= .venv
PY := $(VENV)/bin/python
HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
LOCAL := $(VENV)/.installed-local-$(HASH)
STAMP := $(VENV)/.installed-dev-$(HASH)
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test user-test lint plan bench bench-smoke

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip

$(LOCAL): pyproject.toml | $(VENV)/bin/python
	$(PIP) -e ".[local]"
	rm -f $(VENV)/.installed-local-*
	touch $(LOCAL)

# dev holds local: installing it brings the run's stamp up to date too.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP) $(LOCAL)

run: $(LOCAL)
	$(VENV)/bin/realtime-socket dev --stack dev --port 8080

plan: $(LOCAL)
	$(VENV)/bin/realtime-socket plan --stack dev

# Two processes, each test file in one of them (its module-scoped runtimes start once).
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

# examples/user-stack's own tests (the README's "Testing your stack"), against the wheel.
user-test: $(STAMP)
	PYTHON=$(abspath $(PY)) examples/user-stack/test-wheel.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Benchmarks print ratios measured side by side in one run; see README "Performance".
bench: $(STAMP)
	$(PY) -m bench.fanout --plot docs/fanout.png
	$(PY) -m bench.split
	$(PY) -m bench.coldstart
	$(PY) -m bench.program
	$(PY) -m bench.emulation
	$(PY) -m bench.runtime
	$(PY) -m bench.churn
	$(PY) -m bench.resume
	$(PY) -m bench.authorizer

# CI: every benchmark at a tiny size, only to prove it still runs.
bench-smoke: $(STAMP)
	$(PY) -m bench.fanout --quick
	$(PY) -m bench.split --quick
	$(PY) -m bench.coldstart --quick
	$(PY) -m bench.program --quick
	$(PY) -m bench.emulation --quick
	$(PY) -m bench.runtime --quick
	$(PY) -m bench.churn --quick
	$(PY) -m bench.resume --quick
	$(PY) -m bench.authorizer --quick
