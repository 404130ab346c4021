# Two commands matter on a fresh machine: `make run` (the app on the embedded default) and
# `make test` (the whole suite, after installing the system tools its tests need: see
# packaging/test-deps.sh). Everything else builds on the same virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: run test lint format bench package package-check screenshots clean facility

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# One stamp per set of extras, so a change to pyproject.toml reinstalls and nothing else does.
# Bytecode is compiled at install time: where PYTHONDONTWRITEBYTECODE is set nothing would ever be
# cached, and every process the tests start (catalog, CLI) compiled FastAPI, SQLAlchemy and boto3
# from source again. compileall skips what is up to date, so only the first install pays (about a
# minute on two cores); files never meant to compile (templates, old fixtures) are ignored.
COMPILE = $(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
# The app gets the FAIRmat validator too: without it a fresh install shows only the structural
# verdict. (The packaged build leaves it out: see packaging/lamefair.spec.) It gets the DM/EMD
# reader too (tem-formats, GPL-3).
$(VENV)/.stamp-app: pyproject.toml Makefile | $(BIN)/python
	$(UV) pip install --python $(BIN)/python --quiet -e '.[server,fairmat,tem-formats]'
	$(COMPILE)
	touch $@

$(VENV)/.stamp-test: pyproject.toml Makefile | $(BIN)/python
	$(UV) pip install --python $(BIN)/python --quiet -e '.[server,test]'
	$(COMPILE)
	touch $@

$(VENV)/.stamp-package: pyproject.toml Makefile | $(BIN)/python
	$(UV) pip install --python $(BIN)/python --quiet -e '.[server,test,packaging]'
	$(COMPILE)
	touch $@

# NOMAD (nomad-lab with pynxtools' NOMAD plugin) parses our NXem in tests/nomad/. It gets a venv
# of its own: nomad-lab pulls aiobotocore, which pins botocore, and in ours would take boto3 back
# below what users install. About 140 packages and 1.2 GB; some 30 s to install from uv's cache.
NOMAD_VENV := $(VENV)/nomad
$(NOMAD_VENV)/.stamp: Makefile | $(BIN)/python
	[ -x $(NOMAD_VENV)/bin/python ] || $(PYTHON) -m venv $(NOMAD_VENV)
	$(UV) pip install --python $(NOMAD_VENV)/bin/python --quiet 'pynxtools[nomad]>=0.16' 'nomad-lab>=2.0'
	$(NOMAD_VENV)/bin/python -m compileall -q -j 0 $(NOMAD_VENV)/lib >/dev/null || true
	touch $@

run: $(VENV)/.stamp-app
	@bash packaging/linux-gui-deps.sh
	$(BIN)/lamefair

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.stamp-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Under CI=true the frozen build is made and checked too (packaging is part of what we ship).
# Bytecode is compiled ahead (the installs above, our own modules here): the suite starts many
# `lamefair` processes, and where PYTHONDONTWRITEBYTECODE is set each one would otherwise compile
# every module it imports again (4 s instead of 1.4 s for `lamefair queue`).
#
# The suite runs on PYTEST_WORKERS pytest-xdist workers: its tests mostly wait on the processes
# they start (SeaweedFS, catalogs, engines), so three share two cores better than one or two
# (tests/support/parallel.py says how the work is shared). With PYTEST_ARGS (one file, `-k`)
# it runs serially unless PYTEST_WORKERS is given too: a worker's start costs more than it saves.
# The 20 slowest tests are listed at the end, to see where the suite's time goes.
PYTEST_WORKERS ?= $(if $(PYTEST_ARGS),0,3)
XDIST = $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)
test: lint $(NOMAD_VENV)/.stamp
	@bash packaging/test-deps.sh
	@$(BIN)/python -m compileall -q lamefair_desktop lamefair_catalog tests >/dev/null
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(XDIST) --durations=20 $(PYTEST_ARGS)
	@if [ "$${CI:-}" = true ]; then $(MAKE) --no-print-directory package-check; fi

# The upload comparison runs rclone and aws next to us: install them where we can.
bench: $(VENV)/.stamp-test
	@command -v rclone >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get install -y -q rclone >/dev/null; } || echo "rclone not installed: its column is skipped"
	@# awscli pins botocore exactly: it gets a venv of its own so ours stays as installed.
	@[ -x $(VENV)/tools/bin/aws ] || { $(PYTHON) -m venv $(VENV)/tools && \
		$(UV) pip install --python $(VENV)/tools/bin/python --quiet awscli; }
	@# pynxtools-em (what the nexus bench compares with) brings its own pynxtools, numpy, hyperspy:
	@# a venv of its own as well, one version pinned so that figures from run to run compare.
	@[ -x $(VENV)/tools-em/bin/dataconverter ] || { $(PYTHON) -m venv $(VENV)/tools-em && \
		$(UV) pip install --python $(VENV)/tools-em/bin/python --quiet 'pynxtools-em==0.4.6'; }
	LAMEFAIR_BENCH_DATACONVERTER=$(abspath $(VENV)/tools-em/bin/dataconverter) \
		QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench $(BENCH_ARGS)

package: $(VENV)/.stamp-package
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build \
		packaging/lamefair.spec

# The frozen build checks itself in a clean environment: nothing from this checkout or venv.
package-check: package
	@home=$$(mktemp -d) && cd "$$home" && env -i HOME="$$home" PATH=/usr/bin:/bin \
		LAMEFAIR_HOME="$$home/lamefair" QT_QPA_PLATFORM=offscreen \
		$(CURDIR)/dist/lamefair/lamefair --self-test; status=$$?; rm -rf "$$home"; exit $$status

screenshots: $(VENV)/.stamp-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m lamefair_desktop.ui.screenshots docs/screenshots

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache

# A facility's stack on this machine (SeaweedFS cluster, PostgreSQL, two catalogs, HAProxy):
# what tests/facility/ runs its fault tests on. Prints the URLs and a token; Ctrl+C stops it.
facility: $(VENV)/.stamp-test
	@bash packaging/test-deps.sh
	$(BIN)/python -m tests.facility.stack
