"""The whole firmware (App: drivers, display, clock, buttons, vault with 100 accounts, UI,
protocol) on the simulated board under the MicroPython unix port, ten simulated minutes of
browsing then idling, with native hashlib hidden so the pure SHA-1 runs."""

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
    print("live after boot %d, peak live %d, free after boot %d, least free %d"
          % (r["boot_live"], r["peak_live"], r["boot_free"], r["min_free"]))
    assert r["count"] == 100
    assert r["steps"] >= 10 * 60 * 50  # a 20 ms loop for ten minutes
    assert r["presses"] >= 40 and r["codes"] >= 20
    assert r["screen"] == "off"  # left alone for the second half, the display blanked
    # No growth while running: the live heap at any redraw stays near the boot figure.
    assert r["peak_live"] - r["boot_live"] < 4096


@pytest.mark.xfail(reason="with 100 accounts the vault (~48 KB), the protocol module "
                          "(~31 KB), the drivers (~28 KB) and the UI stack (~32 KB) plus the "
                          "simulator (~30 KB) do not fit a 128 KiB heap", strict=False)
def test_firmware_boots_within_a_128k_heap():
    bench_display.firmware_heap(accounts=100, minutes=1, heapsize=131072)
