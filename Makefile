# setandsetting: build, checks, tests, benchmarks and the demo.
# Every target works from a clean clone; `install` is idempotent and quick when nothing changed.

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# pip runs again only when pyproject.toml is newer than this stamp.
INSTALL_STAMP := $(VENV)/.install-stamp
DEMO_MUSIC_DIR := music/demo
DEMO_MUSIC_STAMP := $(DEMO_MUSIC_DIR)/.generated
DEMO_PATIENT := P-0042
DEMO_PORT ?= 8700
# The live controls `make rehearse` presses: acknowledge check-ins (one late, after its
# reminder; the last of the peak is left to be missed), extend the peak, try to move on
# before the return's floor (refused), move on, write a note, lower the level, end at 6m.
DEMO_CONTROLS := --control '50s:ack' --control '2m20s:ack' --control '2m30s:extend 30s' \
	--control '3m10s:ack' --control '3m20s:ack' --control '3m50s:ack' \
	--control '5m:next' --control '5m10s:next' \
	--control '5m20s:note Patient calm, eyes open' --control '5m30s:level -5%' \
	--control '5m50s:ack' --control '6m:stop'

.DEFAULT_GOAL := help
.PHONY: help install debian-packages test check bench demo rehearse screenshots clean distclean

help:
	@echo "make demo       generate the demo music, serve the demo session with the web UI"
	@echo "make rehearse   rehearse the demo session with scripted controls at 30x"
	@echo "make screenshots  the README's pictures of the web UI, from a real daemon"
	@echo "make test       install, lint, then run the whole test suite"
	@echo "make install    Debian packages (as root), venv in $(VENV), package + dev tools"
	@echo "make check      ruff lint and format check"
	@echo "make bench      run benchmarks/bench_*.py"
	@echo "make clean      remove generated music and caches (distclean: also $(VENV))"

install: debian-packages $(INSTALL_STAMP)

debian-packages:
	@scripts/install-debian-packages

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(INSTALL_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --disable-pip-version-check -e '.[dev]'
	touch $@

check: $(INSTALL_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Tests that plan and rehearse this repository's own room need its demo music.
# pytest exits 5 when it ran no test at all; like any non-zero exit, make fails on it.
test: install check $(DEMO_MUSIC_STAMP)
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

bench: install
	@set -e; found=0; \
	for bench in benchmarks/bench_*.py; do \
		[ -e "$$bench" ] || continue; \
		found=1; echo "== $$bench"; $(VENV_PYTHON) "$$bench"; \
	done; \
	if [ $$found -eq 0 ]; then echo "no benchmarks/bench_*.py found" >&2; exit 1; fi

$(DEMO_MUSIC_STAMP): $(wildcard setandsetting/audio/demo_music.py) | $(INSTALL_STAMP)
	$(VENV_PYTHON) -m setandsetting.audio.demo_music $(DEMO_MUSIC_DIR)
	touch $@

# A real session (music, chimes, cues, journal) in the room daemon; open the printed URL.
# `setandsetting demo` is the same from an installed package (it makes the room and the
# music where they are missing); here the repository is the room. Ctrl-C stops the daemon,
# not the session (`setandsetting stop` ends it; the next `make demo` resumes it). With no
# sound card the session runs silently and says so.
demo: install $(DEMO_MUSIC_STAMP)
	$(VENV)/bin/setandsetting demo --port $(DEMO_PORT)

# The same session on a simulated clock, with the live controls above, at 30x real time.
rehearse: install $(DEMO_MUSIC_STAMP)
	$(VENV)/bin/setandsetting rehearse profiles/demo.yaml --patient $(DEMO_PATIENT) --speed 30 \
		$(DEMO_CONTROLS)

# The README's pictures (docs/screenshots): a real daemon on the demo session in a scratch
# room, photographed by Debian's chromium through Playwright; both stopped by PID after.
# Review shows the rehearsal above, journaled.
screenshots: install $(DEMO_MUSIC_STAMP)
	$(VENV_PYTHON) scripts/screenshots.py docs/screenshots $(DEMO_CONTROLS)

clean:
	rm -rf $(DEMO_MUSIC_DIR) .pytest_cache .ruff_cache .hypothesis build
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
