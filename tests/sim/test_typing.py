"""Typing the code as a USB keyboard, end to end: `otpfob settings set typing on` over the
data channel, a replug, a long press on the simulated fob, and the keyboard reports the
fake usb_hid recorded, decoded as a host with that layout reads them."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from otpfob import hid

harness = pytest.importorskip("otpfob.sim.harness")

OTPFOB = str(Path(sys.executable).with_name("otpfob"))
SECRET = "N52HAZTPMIQHIZLTOQQHGZLDOJSXIIJB"  # b"otpfob test secret!!"


def otpfob(url, *args, input=None):
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    return subprocess.run(
        [OTPFOB, "--port", url, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def ok(url, *args, input=None):
    r = otpfob(url, *args, input=input)
    assert r.returncode == 0, "otpfob %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def as_json(url, *args, input=None):
    return json.loads(ok(url, "--json", *args, input=input).stdout)


def steady_code_screen(fob):
    return fob.wait_for(
        lambda st: st["screen"] == "code" and st["code"] and 5 <= (st["seconds_left"] or 0) <= 27,
        timeout=30,
        what="a steady code screen",
    )


def typed(state, since=0):
    """Keyboard reports recorded so far (from report number ``since`` on)."""
    return hid.read_log(state)[since:]


def long_press_and_read(fob, state, layout):
    before = len(typed(state))
    st = steady_code_screen(fob)
    fob.ok("hold A 1.0")
    after = fob.status()
    # The same period still: the code typed is the one on the screen.
    assert after["code"] == st["code"]
    deadline = time.monotonic() + 10
    while not hid.decode(typed(state, before), layout).endswith("\n"):
        assert time.monotonic() < deadline, "no Enter typed"
        time.sleep(0.05)
    return st["code"], hid.decode(typed(state, before), layout), after


def test_typing_turned_on_from_the_host_types_the_code_and_enter(tmp_path):
    state = tmp_path / "state"
    with harness.SimProcess(state, autopress=True) as fob:
        url = fob.data_url
        fob.clock(int(time.time()))
        fob.wait_for(lambda st: st["screen"] == "empty", what="the clock taken as set")
        ok(url, "add", "Example:alice", input=SECRET + "\n")
        shown = as_json(url, "settings")
        assert shown["typing"] is False and shown["layout"] == "us"

        # Off (the default): a long press is the menu, and nothing is typed.
        steady_code_screen(fob)
        fob.ok("hold A 1.0")
        st = fob.status()
        assert st["screen"] == "menu"
        assert typed(state) == []
        fob.press("B")  # wraps round to the last item, Cancel
        fob.press("C")
        assert fob.status()["screen"] == "code"

        r = as_json(url, "settings", "set", "typing", "on", "layout", "us")
        assert (r["typing"], r["layout"], r["changed"]) == (True, "us", ["typing", "layout"])

        # A bad value is named by the fob and changes nothing.
        bad = otpfob(url, "settings", "set", "layout", "dvorak")
        assert bad.returncode == 1 and "layout must be one of us, de, fr" in bad.stderr
        bad = otpfob(url, "settings", "set", "typing", "maybe")
        assert bad.returncode == 1 and "typing must be on or off" in bad.stderr
        assert as_json(url, "settings")["layout"] == "us"

    # Unplugged and plugged in again: boot.py decides on the USB keyboard at plug-in.
    with harness.SimProcess(state, autopress=True) as fob:
        assert as_json(fob.data_url, "settings")["typing"] is True
        code, text, after = long_press_and_read(fob, state, "us")
        assert text == code + "\n"
        assert after["screen"] == "code"  # typed: nothing to say on the fob

        # The layout takes effect at once: AZERTY digits need Shift.
        as_json(fob.data_url, "settings", "set", "layout", "fr")
        code, text, _ = long_press_and_read(fob, state, "fr")
        assert text == code + "\n"
        n = len(typed(state))
        assert hid.decode(typed(state, n - 2 * (len(code) + 1)), "us") != code + "\n"
