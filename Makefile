# otpfob — every target sets itself up from a fresh clone (Python 3.11, pip, git, node).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BOARD  ?= raspberry_pi_pico

.PHONY: all setup test test-fast test-realcp realcp-setup bench lint sim soak fuzz deploy wiring screenshot dist mpy clean web

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

# GNU Unifont (Debian's fonts-unifont: /usr/share/fonts/opentype/unifont/unifont.otf and
# unifont_upper.otf, GPL-2+, see /usr/share/doc/fonts-unifont/copyright) draws the labels
# the fob's own font cannot (otpfob/labels.py), and the wheel carries it with that licence;
# libfribidi0 is the FriBiDi that Pillow's raqm layout loads to order right-to-left text.
# Installed with apt where we may; without them the label tests skip and say why.
FONT_STAMP := $(VENV)/.unifont
$(FONT_STAMP): | $(STAMP)
	@{ [ -f /usr/share/fonts/opentype/unifont/unifont_upper.otf ] && \
	  ldconfig -p 2>/dev/null | grep -q libfribidi.so.0; } || { \
	  echo "make: installing fonts-unifont and libfribidi0 (Debian) for label strips"; \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-unifont libfribidi0 >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-unifont libfribidi0 >/dev/null 2>&1; }; } || \
	  echo "fonts-unifont could not be installed: the label tests will skip"; }
	touch $@

# Xvfb, the virtual X server the `otpfob add --screen` test draws a QR code on (it skips,
# saying so, without one); installed where we may, never fatal.
XVFB_STAMP := $(VENV)/.xvfb
$(XVFB_STAMP): | $(STAMP)
	-command -v Xvfb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  echo "make: installing xvfb (Debian's virtual X server) for the screen-capture test" && \
	  { apt-get install -y -qq xvfb >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq xvfb >/dev/null 2>&1; }; }; }
	touch $@

# Debian's chromium runs the admin page's browser tests (tests/web, driven by Playwright
# with executable_path, never a browser download of its own); installed with apt when
# missing, where we may. Without it those tests skip and say why.
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP): | $(STAMP)
	@command -v /usr/bin/chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the admin page's browser tests (apt-get)"; \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; }; } || \
	  echo "chromium could not be installed: the browser tests will skip"; }
	touch $@

setup: $(STAMP) $(NODE_STAMP) $(OATH_STAMP) $(FONT_STAMP) $(XVFB_STAMP) $(CHROMIUM_STAMP)

test: setup
	$(BIN)/pytest -n 2 -q tests

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
	    echo "installing $$pkg ($$tool builds the CIRCUITPY image for the real-CircuitPython tier)"; \
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

lint: setup
	$(BIN)/ruff check host_tools tests bench firmware boards web
	$(PY) -m otpfob.wiring --check docs/boards

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
