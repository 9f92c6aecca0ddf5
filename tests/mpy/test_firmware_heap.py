"""The whole firmware (App: drivers, display, clock, buttons, vault with 100 accounts, UI,
protocol on the data channel) on the simulated board under the MicroPython unix port,
precompiled to .mpy as deployed, ten simulated minutes of browsing then idling, with
native hashlib hidden so the pure SHA-1 runs."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import display as bench_display  # noqa: E402
from otpfob.testing.mpy import unix_binary  # noqa: E402

pytestmark = pytest.mark.skipif(unix_binary() is None, reason="no MicroPython unix port")


def test_firmware_runs_ten_minutes_with_100_accounts_and_its_heap_stays_flat():
    r = bench_display.firmware_heap(accounts=100, minutes=10,
                                    heapsize=bench_display.WORKING_HEAP)
    print("simulator %d, live after boot %d, peak live %d, free after boot %d, least free %d"
          % (r["sim_live"], r["boot_live"], r["peak_live"], r["boot_free"], r["min_free"]))
    assert r["count"] == 100
    assert r["protocol"] is True  # the data channel is on: the protocol module is loaded
    assert r["steps"] >= 10 * 60 * 50  # a 20 ms loop for ten minutes
    assert r["presses"] >= 40 and r["codes"] >= 20
    assert r["screen"] == "off"  # left alone for the second half, the display blanked
    # No growth while running: the live heap at any redraw stays near the boot figure.
    assert r["peak_live"] - r["boot_live"] < 4096


def test_precompiled_tree_holds_an_mpy_for_every_module_the_run_imports(tmp_path):
    folders = bench_display.precompile(tmp_path)
    found = {p.relative_to(f).as_posix() for f in folders for p in Path(f).rglob("*.mpy")}
    for name in ("fob/app.mpy", "fob/ui.mpy", "fob/protocol.mpy", "fob/vault.mpy",
                 "otpfob/sim/ssd1306.mpy", "otpfob/sim/cp/usb_cdc.mpy",
                 "adafruit_ssd1306.mpy", "adafruit_ds3231.mpy",
                 "adafruit_register/i2c_bcd_datetime.mpy"):
        assert name in found
    assert not any(n.endswith(".py") for f in folders for n in os.listdir(f))


# Measured with `.venv/bin/python -m bench.display` (its "live heap by part" table): the
# simulator takes ~56 KB before the firmware starts and the firmware ~124 KB live after
# boot (drivers ~28 KB, of which adafruit_ds3231 with adafruit_register ~19 KB; engine
# modules ~19 KB; vault module ~12.5 KB plus ~17 KB for 100 accounts; protocol module
# ~13.5 KB; UI, display, font, clock, buttons, settings, app ~25 KB; other objects ~8 KB),
# so today the run needs about 200 KiB.
@pytest.mark.xfail(reason="simulator (~56 KB) plus firmware (~124 KB live on the 64-bit "
                          "port) do not fit a 128 KiB heap yet", strict=False)
def test_firmware_boots_within_a_128k_heap():
    bench_display.firmware_heap(accounts=100, minutes=1, heapsize=bench_display.TARGET_HEAP)
