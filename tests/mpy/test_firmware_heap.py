"""The whole firmware (App: drivers, display, clock, buttons, vault with 100 accounts, UI,
protocol on the data channel) under the MicroPython unix port (64-bit; the board-sized
budget is the 32-bit tier's, tests/mpy/test_board_heap.py), precompiled to .mpy as
deployed, with native hashlib hidden so the pure SHA-1 runs. The chip models, pins,
clock and host run in CPython behind a pipe (otpfob.sim.bridge), as on a board they are
not on the heap. Ten simulated minutes: a press every 7 s for five minutes, a host
request, then nothing, so the display blanks."""

import json
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


def check_ten_minutes(r):
    assert r["count"] == 100
    assert r["protocol"] is True  # the data channel is on: the protocol module is loaded
    assert r["steps"] >= 10 * 60 * 50  # a 20 ms loop for ten minutes
    assert r["presses"] >= 40 and r["codes"] >= 20
    # What the firmware drew, read back from the panel's GDDRAM: the current TOTP code of
    # one of the accounts, and more than one account as the buttons moved through them.
    shown = [who for _, who in r["matches"]]
    assert len(shown) >= 10 and all(shown)
    assert len({who[0] for who in shown}) >= 5
    # Left alone for the second half, the firmware blanked the panel.
    assert r["screen"] == "off" and r["display_on"] is False
    # No growth while running: the live heap at any redraw stays near where it settles.
    # Without requests that is the boot figure; a first request loads the modules that
    # answer hosts (fob/guard.py, fob/commands.py), which then stay.
    settled = r["end_live"] if r["requests"] else r["boot_live"]
    assert r["peak_live"] - max(settled, r["boot_live"]) < 4096


def check_hello(r):
    reply = json.loads(r["replies"].decode().splitlines()[0])
    assert reply["ok"] is True and reply["id"] == 1 and reply["accounts"] == 100


def test_precompiled_tree_holds_an_mpy_for_every_module_the_run_imports(tmp_path):
    folders = bench_display.precompile(tmp_path)
    found = {p.relative_to(f).as_posix() for f in folders for p in Path(f).rglob("*.mpy")}
    for name in (
        "fob/app.mpy",
        "fob/ui.mpy",
        "fob/protocol.mpy",
        "fob/vault.mpy",
        "simlink.mpy",
        "adafruit_ssd1306.mpy",
        "adafruit_ds3231.mpy",
        "adafruit_register/i2c_bcd_datetime.mpy",
    ):
        assert name in found
    assert not any(n.endswith(".py") for f in folders for n in os.listdir(f))


# The heap budget is held on the 32-bit tier with a board's heap (test_board_heap.py,
# bench.board_heap): 64-bit objects are about twice a board's, so this run only checks
# that the firmware works here, at a heap it fits with room.
def test_host_request_is_answered_while_the_firmware_runs():
    r = bench_display.firmware_heap(accounts=100, minutes=10, heapsize=bench_display.WORKING_HEAP)
    check_ten_minutes(r)
    check_hello(r)
    print(
        "live after boot %d, after the request and ten minutes %d, peak %d"
        % (r["boot_live"], r["end_live"], r["peak_live"])
    )
    # What the request left loaded (on this 64-bit port; a 32-bit board needs about half):
    # the protocol and its modules, imported only once a host is there (a fob woken on a
    # keyring shows its code without them), and the reply's buffers.
    assert r["end_live"] - r["boot_live"] < 24576
