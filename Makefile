# otpfob — every target sets itself up from a fresh clone (Python 3.11, pip, git, node).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BOARD  ?= raspberry_pi_pico

.PHONY: all setup test test-fast bench lint sim soak fuzz deploy clean

all: test

$(STAMP): pyproject.toml requirements-dev.txt requirements-drivers.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-drivers.txt
	$(PY) -m pip install -q --disable-pip-version-check -e .
	touch $@

# The 32-bit MicroPython (WebAssembly port) for tier 2, pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

setup: $(STAMP) $(NODE_STAMP)

test: setup
	$(BIN)/pytest -n 2 -q tests

test-fast: setup
	$(BIN)/pytest -n 2 -q -m "not slow" tests

bench: setup
	$(PY) -m bench

lint: setup
	$(BIN)/ruff check host_tools tests bench firmware boards

sim: setup
	$(BIN)/otpfob sim --demo --state .sim-state

soak: setup
	$(BIN)/pytest -q -m soak tests --run-soak

fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m "fuzz or not fuzz" -k fuzz tests

deploy: setup
	$(BIN)/otpfob deploy --board $(BOARD)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
