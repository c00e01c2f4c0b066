# Two entry points for a fresh machine (both idempotent):
#   make demo   install everything into .venv and run the demo (local site → crawl → … → app)
#   make test   install everything (and headless Chromium) and run the whole test suite (CI)
# and the fast lane while you work:
#   make check  the unit and in-process tests only (no server, browser, training run or `studio`
#               child process: the markers of pyproject.toml), in under 3 minutes on 2 cores
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)
PYTEST_ARGS ?=
# The full suite runs in two pytest-xdist workers, a test file per worker at a time (its module
# fixtures built once); most of its time is spent waiting on child processes and servers.
TEST_WORKERS ?= 2
CHECK_MARKERS := not (slow or browser or server or cli)

.PHONY: install demo check test lint bench system-deps clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser tests (Playwright cannot download its own browser offline),
# redis-server for the shared crawl frontier test (tests/crawler/test_redis_frontier.py), and
# Ren'Py's two games for their MIT-licensed anime sprites (tests/curation, bench/curation_quality.py).
system-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@test -d /usr/share/games/renpy/the_question -a -d /usr/share/games/renpy/demo || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq renpy-thequestion renpy-demo >/dev/null; }

demo: install
	$(PY) -m studio demo

check: install system-deps
	$(PY) -m pytest -m "$(CHECK_MARKERS)" --durations=10 $(PYTEST_ARGS)

test: install system-deps
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/crawl.py
	$(PY) bench/train.py

clean:
	rm -rf $(VENV) demo-data
