"""Sleep on a battery (fob/power.py) on the simulated board: the fake `alarm` module
(sim/cp/alarm.py) counts light and deep sleep; the control port's `usb off` carries the
fob away from the laptop, `press` wakes it, `battery VOLTS` sets the cell."""

import json
import socket
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner

from otpfob.cli import main

IDLE = 30  # the firmware's default blanking time
DEEP_AFTER = 120  # fob/power.py's default light-sleep time before deep sleep
REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = [
    ("Alpha", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    ("Bravo", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
    ("Charlie", "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK"),
    ("Delta", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
]


def cli(url, *args):
    r = CliRunner().invoke(main, ["--port", url, "--json", *args])
    assert r.exit_code == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def expected(secret, epoch):
    return pyotp.TOTP(secret).at(int(epoch))


def fob_with_accounts(sim_factory, tmp_path):
    # One import, one press for all four (an add each would be a press each).
    fob = sim_factory(demo=False)
    cli(fob.data_url, "time", "set")
    listing = tmp_path / "accounts.txt"
    listing.write_text(
        "".join(
            "otpauth://totp/%s:user?secret=%s&issuer=%s\n" % (issuer, secret, issuer)
            for issuer, secret in ACCOUNTS
        )
    )
    cli(fob.data_url, "import", str(listing))
    fob.ok("autopress off")
    fob.wait_for(lambda s: s["screen"] == "code" and s["count"] == 4, what="code screen")
    return fob


def shown_secret(st):
    return dict(ACCOUNTS)[st["label"].split(":")[0]]


def test_the_fob_light_sleeps_after_the_idle_time_with_the_panel_switched_off(
    sim_factory, tmp_path
):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.ok("usb off")
    fob.advance(IDLE - 2)
    st = fob.status()
    assert st["power"] == "awake" and st["display_on"] is True
    fob.advance(3)
    st = fob.status()
    # Display-off command (0xAE) to the SSD1306, not a black frame: the model says off.
    assert st["power"] == "light_sleep"
    assert st["display_on"] is False and st["screen"] == "off"


def test_a_press_wakes_the_fob_to_the_right_code_of_the_same_entry(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.press("A")
    fob.press("A")
    assert fob.status()["index"] == 2
    fob.ok("usb off")
    fob.advance(IDLE + 100)
    assert fob.status()["power"] == "light_sleep"
    fob.press("B")  # held 0.1 s and released: the status is read 0.1 s after the release
    st = fob.status()
    assert st["power"] == "awake" and st["screen"] == "code"
    # The wake press is not also a "previous": the same entry, its current code.
    assert st["index"] == 2
    assert st["code"] in (
        expected(shown_secret(st), st["rtc_time"]),
        expected(shown_secret(st), st["rtc_time"] - 1),
    )
    assert 0 < st["seconds_left"] <= 30
    # The countdown as drawn (redrawn each second; the status is read just after).
    assert (st["seconds_left"] - (30 - int(st["rtc_time"]) % 30)) % 30 in (0, 1)
    # The next press is an action again.
    fob.press("A")
    assert fob.status()["index"] == 3


def test_a_long_wake_press_is_not_a_long_press_action(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.ok("usb off")
    fob.advance(IDLE + 5)
    assert fob.status()["power"] == "light_sleep"
    fob.ok("hold A 2")
    st = fob.status()
    assert st["screen"] == "code" and st["index"] == 0  # no menu, no "next"


def test_a_deep_sleep_wake_restores_the_entry_and_shows_its_code(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.press("B")  # 4 -> index 3
    assert fob.status()["index"] == 3
    boots = fob.status()["boots"]
    fob.ok("usb off")
    fob.advance(IDLE + DEEP_AFTER + 60)
    st = fob.status()
    assert st["power"] == "deep_sleep" and st["display_on"] is False
    fob.press("C")
    st = fob.wait_for(
        lambda s: s["screen"] == "code" and s["boots"] == boots + 1,
        what="code after the deep-sleep restart",
    )
    # code.py started again (as after a reset), not in update mode despite the held
    # button, and on the entry shown before the sleep.
    assert st["power"] == "awake" and st["prompt"] is None
    assert st["index"] == 3
    assert st["code"] == expected(shown_secret(st), st["rtc_time"])


def test_privacy_hides_the_code_again_after_a_wake(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    cli(fob.data_url, "settings", "set", "privacy", "on")
    fob.ok("usb off")
    fob.press("C")  # reveal
    assert fob.status()["code"] is not None
    fob.advance(IDLE + 5)
    assert fob.status()["power"] == "light_sleep"
    fob.press("A")
    st = fob.status()
    assert st["screen"] == "code" and st["code"] is None  # hidden


def test_a_connected_host_keeps_the_fob_awake(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.advance(IDLE + DEEP_AFTER + 60)  # plugged in (the default): no sleep at all
    st = fob.status()
    assert st["power"] == "awake" and st["screen"] == "off"
    # Unplugged, but the data channel open (a host on the other end): still awake.
    fob.ok("usb off")
    host, port = fob.data_url[len("socket://") :].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10):
        fob.wait_for(lambda s: s["data_connected"], what="data channel connected")
        fob.advance(IDLE + 10)
        assert fob.status()["power"] == "awake"
    fob.wait_for(lambda s: not s["data_connected"], what="data channel closed")
    fob.advance(2)
    assert fob.status()["power"] == "light_sleep"


def test_a_prompt_from_the_host_is_never_slept_through(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.ok("usb off")
    host, port = fob.data_url[len("socket://") :].rsplit(":", 1)
    req = {
        "id": 1,
        "cmd": "add",
        "name": "eve",
        "issuer": "Echo",
        "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    }
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(json.dumps(req).encode() + b"\n")
        fob.wait_for(lambda st: st["screen"] == "presence", what="presence prompt")
        fob.advance(25)  # near the question's 30 s, past nothing the holder did
        st = fob.status()
        assert st["power"] == "awake" and st["screen"] == "presence"
        assert st["display_on"] is True
        fob.press("B")  # answered no
        lines = s.makefile("rb")
        reply = json.loads(lines.readline())
        while "ok" not in reply:  # first the notice that a press is awaited
            reply = json.loads(lines.readline())
        assert reply["ok"] is False
        lines.close()
    fob.wait_for(lambda s: not s["data_connected"], what="data channel closed")
    fob.advance(IDLE + 2)
    assert fob.status()["power"] == "light_sleep"


def test_the_battery_gauge_and_info_report_the_cell(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    # On USB power (no cell in the simulator yet): no percentage, no warning.
    info = cli(fob.data_url, "info")
    assert info["battery"]["external"] is True and info["battery"]["low"] is False
    assert info["battery"]["percent"] is None
    fob.ok("battery 3.95")
    fob.ok("usb off")
    fob.advance(IDLE + 5)
    fob.press("A")  # the fob reads the cell at each wake and once a minute while lit
    info = cli(fob.data_url, "info")
    assert info["battery"]["volts"] == pytest.approx(3.95, abs=0.02)
    assert info["battery"]["low"] is False and 70 <= info["battery"]["percent"] <= 80
    assert info["battery"]["external"] is False
    fob.ok("battery 3.4")
    fob.advance(IDLE + 5)
    assert fob.status()["power"] == "light_sleep"
    fob.press("A")
    info = cli(fob.data_url, "info")
    assert info["battery"]["low"] is True and info["battery"]["percent"] < 10
    r = CliRunner().invoke(main, ["--port", fob.data_url, "info"])
    assert "Battery" in r.stdout and "low" in r.stdout


def lit_in(png, x0, x1, y0, y1):
    from PIL import Image

    img = Image.open(png).convert("L")
    return sum(1 for x in range(x0, x1) for y in range(y0, y1) if img.getpixel((x, y)) > 128)


def test_the_gauge_is_drawn_in_the_corner_of_the_code_screen(sim_factory, tmp_path):
    fob = fob_with_accounts(sim_factory, tmp_path)
    fob.advance(1)
    fob.screen_png(str(tmp_path / "usb.png"))
    assert lit_in(tmp_path / "usb.png", 114, 128, 0, 8) == 0  # on USB power: no gauge
    fob.ok("battery 4.2")
    fob.ok("usb off")
    fob.advance(IDLE + 5)
    fob.press("A")
    fob.advance(1)
    fob.screen_png(str(tmp_path / "full.png"))
    fob.ok("battery 3.6")
    fob.advance(61)  # read again once a minute while the panel is lit
    fob.press("A")
    fob.advance(1)
    fob.screen_png(str(tmp_path / "tenth.png"))
    full = lit_in(tmp_path / "full.png", 114, 128, 0, 8)
    tenth = lit_in(tmp_path / "tenth.png", 114, 128, 0, 8)
    # An outline (two 10-px rows, two 6-px sides, a 2-px nub) plus the fill.
    assert tenth >= 2 * 10 + 2 * 4 + 2
    assert full > tenth
