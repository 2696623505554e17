# ypv — two commands: `make run` (serve the demo) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export YPV_DATABASE_URL ?= sqlite:///ypv.sqlite3

.PHONY: install system-deps run test test-pg stress bench clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Debian packages the suite drives (chromium, nginx, openssl, systemd, wrk): installed when missing.
system-deps:
	scripts/system-deps

# Demo catalog + funded demo account in a local SQLite file, a fresh key printed, then serve.
run: install
	$(BIN)/ypv demo
	$(BIN)/ypv serve

# The whole suite on SQLite (the default backend). Each run keeps its temporary files in its own
# folder: pytest's shared /tmp/pytest-of-$USER prunes older runs' folders, even those of a run in progress.
test: install system-deps
	mkdir -p .pytest-tmp
	$(BIN)/python -m pytest -q --basetemp=.pytest-tmp/sqlite

# The same suite on PostgreSQL (each test gets its own database on $(PG_TEST_URL)).
test-pg: install system-deps
	mkdir -p .pytest-tmp
	YPV_TEST_POSTGRES_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q --basetemp=.pytest-tmp/postgresql

# The long stress runs whose figures docs/reliability.md publishes, on SQLite then PostgreSQL
# (about 20 minutes each). `make test` runs the same tests in a bounded form.
stress: install
	YPV_STRESS=long $(BIN)/python -m pytest -q -s tests/stress
	YPV_STRESS=long YPV_TEST_POSTGRES_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -s tests/stress

# ypv against a bare Falcon app under the same gunicorn settings, with wrk, on SQLite and PostgreSQL
# (about 40 minutes; docs/performance.md). Not part of `test`: a 1-second smoke run of it is.
bench: install
	$(BIN)/python -m bench --pg-url $(PG_TEST_URL)

clean:
	rm -rf $(VENV) *.egg-info ypv.sqlite3 ypv.sqlite3-* .pytest-tmp
