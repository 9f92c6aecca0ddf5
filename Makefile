# otpfob — every target sets itself up from a fresh clone (Python 3.11, pip, git, node).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BOARD  ?= raspberry_pi_pico

.PHONY: all setup test test-fast test-realcp realcp-setup bench lint format sim soak fuzz deploy wiring screenshot dist mpy clean web

all: test

# Last step: the locked install requirements as wheels in .venv/wheelhouse, from which the
# packaging tests and `make bench` install otpfob into fresh venvs offline.
$(STAMP): pyproject.toml requirements-dev.txt requirements-host.txt requirements-drivers.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "make: installing into $(VENV) the Python packages pinned in requirements-dev.txt" \
	  "(tests, lint, build) and requirements-drivers.txt (the Adafruit drivers), and otpfob" \
	  "itself (editable); then the wheelhouse for the offline packaging tests"
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-drivers.txt
	$(PY) -m pip install -q --disable-pip-version-check -e .
	$(PY) -c "from otpfob.testing.packaging import wheelhouse; wheelhouse()"
	touch $@

# The 32-bit MicroPython (WebAssembly port) for tier 2, pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	@echo "make: installing npm packages pinned in package-lock.json into node_modules/:" \
	  "@micropython/micropython-webassembly-pyscript (tier 2, the fob on the page), jsqr (the" \
	  "page's QR reading), rp2040js and uf2 (make test-realcp)"
	npm ci --silent --no-audit --no-fund
	touch $@

# Debian packages some tests use, installed with apt-get where we may (root, apt-get there),
# never fatal: the tests that need a missing one skip and say why. Each install says what it
# installs and why first. $(call apt_install,PACKAGES,WHY,CHECK) runs when CHECK fails.
define apt_install
	@if ! { $(3); } >/dev/null 2>&1; then \
	  echo "make: installing $(1) (Debian, apt-get) $(2)"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null 2>&1; } || \
	    echo "make: could not install $(1): the tests that need it will skip"; \
	  else echo "make: cannot install $(1) here (not root, or no apt-get): the tests that need it will skip"; fi; \
	fi
endef

# oathtool: a second independent reference for codes in the end-to-end tests.
OATH_STAMP := $(VENV)/.oathtool
$(OATH_STAMP): | $(STAMP)
	$(call apt_install,oathtool,as a second reference for codes in the end-to-end tests,command -v oathtool)
	@touch $@

# GNU Unifont (Debian's fonts-unifont: /usr/share/fonts/opentype/unifont/unifont.otf and
# unifont_upper.otf, GPL-2+, see /usr/share/doc/fonts-unifont/copyright) draws the labels
# the fob's own font cannot (otpfob/labels.py), and the wheel carries it with that licence
# (THIRD_PARTY_NOTICES.md); libfribidi0 is the FriBiDi that Pillow's raqm layout loads to
# order right-to-left text.
FONT_STAMP := $(VENV)/.unifont
$(FONT_STAMP): | $(STAMP)
	$(call apt_install,fonts-unifont libfribidi0,to draw label strips (GNU Unifont; FriBiDi for right-to-left text),[ -f /usr/share/fonts/opentype/unifont/unifont_upper.otf ] && ldconfig -p | grep -q libfribidi.so.0)
	@touch $@

# Xvfb, the virtual X server the `otpfob add --screen` test draws a QR code on.
XVFB_STAMP := $(VENV)/.xvfb
$(XVFB_STAMP): | $(STAMP)
	$(call apt_install,xvfb,as the virtual screen of the otpfob add --screen test,command -v Xvfb)
	@touch $@

# Debian's chromium runs the admin page's browser tests (tests/web, driven by Playwright
# with executable_path, never a browser download of its own).
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP): | $(STAMP)
	$(call apt_install,chromium,for the admin page's browser tests (Playwright drives it),[ -x /usr/bin/chromium ])
	@touch $@

setup: $(STAMP) $(NODE_STAMP) $(OATH_STAMP) $(FONT_STAMP) $(XVFB_STAMP) $(CHROMIUM_STAMP)

# The CPython unit tests run in processes of their own: the simulator's in-process runs
# (tests/sim) load the firmware afresh with its fake time and board modules, and unit
# tests that met those modules in the same worker failed (WorldStopped, errors of another
# load's classes). The rest runs three at a time on two cores: its tests mostly wait in
# real time (a holder's 1.5 s press, a simulated fob's seconds), and a whole run kept the
# two cores less than half busy.
test: setup
	$(BIN)/pytest -n 2 -q tests/unit
	$(BIN)/pytest -n 3 -q tests --ignore=tests/unit

# Tier 5: the deployed firmware on real CircuitPython images in an emulated RP2040 (not part
# of make test: minutes per image, the images side by side). CP_IMAGES holds the images
# (N.N.N.uf2) and bootrom.ts, CP_EMU the emulator's chip models (chips.mjs, flash.mjs,
# usbhost.mjs, cp10.mjs: copied into build/cp-emu/, next to the project's own driver's
# node_modules, rp2040js and uf2 pinned in package-lock.json). Both default to ../shared
# beside the checkout; without them the tier skips and says why. mcopy and mkfs.fat build
# the CIRCUITPY image: mtools and dosfstools are installed with apt-get when missing.
CP_IMAGES ?= $(abspath $(CURDIR)/../shared/cp-images)
CP_EMU ?= $(abspath $(CURDIR)/../shared/cp-emu)
REALCP_ENV := CP_IMAGES="$(CP_IMAGES)" CP_EMU="$(CP_EMU)" PATH="$$PATH:/usr/sbin:/sbin"

test-realcp: setup realcp-setup
	$(REALCP_ENV) $(BIN)/pytest -q -rs --realcp tests/realcp

realcp-setup:
	@if [ -f "$(CP_EMU)/chips.mjs" ]; then mkdir -p build/cp-emu && \
	  cp "$(CP_EMU)"/chips.mjs "$(CP_EMU)"/flash.mjs "$(CP_EMU)"/usbhost.mjs "$(CP_EMU)"/cp10.mjs build/cp-emu/; \
	else echo "no emulator in $(CP_EMU) (set CP_EMU): the real-CircuitPython tier will skip"; fi
	@for need in mcopy:mtools mkfs.fat:dosfstools; do \
	  tool=$${need%%:*}; pkg=$${need##*:}; \
	  if ! PATH="$$PATH:/usr/sbin:/sbin" command -v $$tool >/dev/null 2>&1; then \
	    echo "make: installing $$pkg (Debian, apt-get): $$tool builds the CIRCUITPY image for the real-CircuitPython tier"; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      apt-get install -y -qq $$pkg >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $$pkg >/dev/null 2>&1; } || \
	      echo "could not install $$pkg: the tier will skip"; \
	    else echo "cannot install $$pkg here (not root or no apt-get): install it, or the tier skips"; fi; \
	  fi; \
	done

test-fast: setup
	$(BIN)/pytest -n 2 -q -m "not slow" tests

bench: setup realcp-setup
	$(REALCP_ENV) $(PY) -m bench

# What CI holds (.ci/run runs it before the tests; .pre-commit-config.yaml runs the same):
# ruff's checks everywhere (the firmware for errors only: pyproject.toml), the formatter on
# the host code, tests and bench, mypy on the host's public modules ([tool.mypy]), and the
# wiring pages against the board files.
LINT_PATHS   := host_tools tests bench firmware boards web
FORMAT_PATHS := host_tools tests bench

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(BIN)/mypy
	$(PY) -m otpfob.wiring --check docs/boards

# Sort imports and format what `make lint` holds to it.
format: $(STAMP)
	$(BIN)/ruff check --fix --select I $(LINT_PATHS)
	$(BIN)/ruff format $(FORMAT_PATHS)

# The README's picture of the code screen, drawn by the simulator, and the admin page's
# main screens (tests/web drives the page in headless chromium and keeps the pictures).
screenshot: setup
	$(PY) -m otpfob.screenshot docs/img
	OTPFOB_SCREENSHOTS=1 $(BIN)/pytest -q tests/web/test_page_fob.py -k provisions

# Wiring tables and pictures in docs/boards/ are generated from boards/*.py.
wiring: setup
	$(PY) -m otpfob.wiring docs/boards

sim: setup
	$(BIN)/otpfob sim --demo --state .sim-state

# The admin page on localhost (and the fob on the page), opened in the browser.
web: setup
	$(BIN)/otpfob web

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
