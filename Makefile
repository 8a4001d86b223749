# Two commands: `make serve` (install + run the service) and `make test` (install test needs + run every test).
# `make check` is the fast lane for a change in progress: lint, then the tests that start no server (docs/development.md).
VENV := .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The fast lane: the tests without a `server`, `browser` or `slow` mark (tests/conftest.py refuses a server in them).
FAST_LANE := not server and not browser and not slow
# TODO: widen to the whole repository (`ruff check .`) once its findings are fixed; these files are clean now.
LINTED := serving/settings.py webapp/config.py gunicorn.conf.py tools/make_settings_doc.py tests/conftest.py \
	tests/test_settings.py tests/test_config.py tests/test_properties.py

.PHONY: serve test check bundle system-packages

serve: $(VENV)/.runtime-installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sh -c "$$(sed -n 's/^web: //p' Procfile)"

test: $(VENV)/.test-installed system-packages tools/newman/node_modules/.installed tools/bundle/node_modules/.installed
	$(VENV)/bin/python -m pytest

# The page's one script, webapp/static/dist/page.js, from its modules (checked in: serving needs no Node.js).
bundle: $(VENV)/.runtime-installed tools/bundle/node_modules/.installed
	$(VENV)/bin/python -m tools.build_bundle

check: $(VENV)/.test-installed tools/bundle/node_modules/.installed
	$(VENV)/bin/python -m ruff check $(LINTED)
	$(VENV)/bin/python -m pytest -q -m "$(FAST_LANE)" --hypothesis-profile=check

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
