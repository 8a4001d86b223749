# Two commands: `make serve` (install + run the service) and `make test` (install test needs + run every test).
# `make check` is the fast lane for a change in progress: lint, then the tests that start no server (docs/development.md).
VENV := .venv
# The interpreter .venv is made from: the distribution's own python of .python-version's version when it can make a
# venv (Debian builds it with profile-guided and link-time optimisation, as the official Docker images do; pyenv's
# default build has neither and runs this service's Python about 20% slower: BENCHMARKS.md), else python3.
SYSTEM_PYTHON := /usr/bin/python$(shell cat .python-version)
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c "import ensurepip, venv" 2>/dev/null && echo $(SYSTEM_PYTHON) || echo python3)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The fast lane: the tests without a `server`, `browser` or `slow` mark (tests/conftest.py refuses a server in them).
FAST_LANE := not server and not browser and not slow

.PHONY: serve test check lint bundle system-packages

serve: $(VENV)/.runtime-installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sh -c "$$(sed -n 's/^web: //p' Procfile)"

test: lint system-packages tools/newman/node_modules/.installed tools/bundle/node_modules/.installed
	$(VENV)/bin/python -m pytest

# The page's one script, webapp/static/dist/page.js, from its modules (checked in: serving needs no Node.js).
bundle: $(VENV)/.runtime-installed tools/bundle/node_modules/.installed
	$(VENV)/bin/python -m tools.build_bundle

check: lint tools/bundle/node_modules/.installed
	$(VENV)/bin/python -m pytest -q -m "$(FAST_LANE)" --hypothesis-profile=check

# ruff (pinned in requirements-test.txt) with the configuration in pyproject.toml: no findings, and the
# formatter's output is the code's layout.
lint: $(VENV)/.test-installed
	$(VENV)/bin/python -m ruff check .
	$(VENV)/bin/python -m ruff format --check .

# Debian's chromium for the browser tests (Playwright must not download its own), wrk for benchmarks, curl for README
# examples, redis-server and nginx for the scale-out tests (started on loopback by the tests, never as services),
# npm for newman (the Postman collection's test) and esbuild (the page's bundle).
system-packages:
	@command -v chromium >/dev/null && command -v wrk >/dev/null && command -v curl >/dev/null && \
		command -v redis-server >/dev/null && [ -x /usr/sbin/nginx ] && command -v npm >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium wrk curl fonts-dejavu-core redis-server nginx npm; }

$(VENV)/.runtime-installed: requirements.txt
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-test.txt
	touch $@

# newman, pinned by tools/newman/package-lock.json
tools/newman/node_modules/.installed: tools/newman/package-lock.json | system-packages
	cd tools/newman && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# esbuild, pinned by tools/bundle/package-lock.json
tools/bundle/node_modules/.installed: tools/bundle/package-lock.json | system-packages
	cd tools/bundle && npm ci --no-audit --no-fund --loglevel=error
	touch $@
