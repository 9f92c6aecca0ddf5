# otpfob — every target sets itself up from a fresh clone (Python 3.11, pip, git, node).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BOARD  ?= raspberry_pi_pico

.PHONY: all setup test test-fast test-realcp bench lint sim soak fuzz deploy wiring screenshot dist mpy clean

all: test

# Last step: the locked install requirements as wheels in .venv/wheelhouse, from which the
# packaging tests and `make bench` install otpfob into fresh venvs offline.
$(STAMP): pyproject.toml requirements-dev.txt requirements-host.txt requirements-drivers.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-drivers.txt
	$(PY) -m pip install -q --disable-pip-version-check -e .
	$(PY) -c "from otpfob.testing.packaging import wheelhouse; wheelhouse()"
	touch $@

# The 32-bit MicroPython (WebAssembly port) for tier 2, pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# Debian's oathtool is a second independent reference for codes in the end-to-end tests
# (they skip that comparison without it); installed where we may, never fatal.
OATH_STAMP := $(VENV)/.oathtool
$(OATH_STAMP): | $(STAMP)
	-command -v oathtool >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq oathtool >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq oathtool >/dev/null 2>&1; }; }; }
	touch $@

setup: $(STAMP) $(NODE_STAMP) $(OATH_STAMP)

test: setup
	$(BIN)/pytest -n 2 -q tests

test-fast: setup
	$(BIN)/pytest -n 2 -q -m "not slow" tests

bench: setup
	$(PY) -m bench

lint: setup
	$(BIN)/ruff check host_tools tests bench firmware boards
	$(PY) -m otpfob.wiring --check docs/boards

# The README's picture of the code screen, drawn by the simulator.
screenshot: setup
	$(PY) -m otpfob.screenshot docs/img

# Wiring tables and pictures in docs/boards/ are generated from boards/*.py.
wiring: setup
	$(PY) -m otpfob.wiring docs/boards

sim: setup
	$(BIN)/otpfob sim --demo --state .sim-state

# Long runs (power cuts, flood); -rP shows the figures each one prints.
soak: setup
	$(BIN)/pytest -q -rP -m soak tests --run-soak

fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m "fuzz or not fuzz" -k fuzz tests

deploy: setup
	$(BIN)/otpfob deploy --board $(BOARD)

# The wheel and sdist (built from a clean copy of the sources, with the firmware, the board
# files and the pinned drivers inside) and the CIRCUITPY bundle for people who drag files.
dist: setup
	rm -rf dist
	$(PY) -m otpfob.testing.packaging dist
	$(PY) -m otpfob.bundle dist

# The firmware and the pinned drivers precompiled for CircuitPython 8, 9 and 10
# (firmware/mpy/, committed; deploy and the bundle use them). Needs CircuitPython's own
# mpy-cross of each major on PATH as mpy-cross-cp8, mpy-cross-cp9 and mpy-cross-cp10 (built
# from the mpy-cross/ folder of that CircuitPython tag; none is published on PyPI or npm).
# tests/test_mpy_files.py fails, naming the file, when a source changed without this.
mpy: setup
	$(PY) -m otpfob.mpyfiles build

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis dist build
