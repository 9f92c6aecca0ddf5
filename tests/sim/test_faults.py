"""A fob that stays up through bus faults: the simulator's `i2c-fault` commands make the
RTC or the display stop acknowledging (a loose wire) or fail one transaction (noise), and
the firmware must show what is wrong, never a wrong code, keep the data channel answering
and come back by itself. The last tests run the firmware's loop in this process on a
hand-driven clock, to check the reload after repeated failures and the watchdog."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest

from otpfob.sim import cp
from otpfob.sim.command import DEMO_SECRET
from otpfob.sim.cp.usb_cdc import BufferLink
from otpfob.sim.ds3231 import DS3231
from otpfob.sim.i2c import Bus
from otpfob.sim.runner import load_board
from otpfob.sim.ssd1306 import SSD1306
from otpfob.sim.world import World, WorldStopped

OTPFOB = str(Path(sys.executable).with_name("otpfob"))
T0 = 1_800_000_000
DEMO = pyotp.TOTP(base64.b32encode(DEMO_SECRET).decode())


def right_code(st):
    """The demo account's code at the simulated time of a status (either side of a
    period boundary the status may straddle)."""
    t = st["time"]
    return st["code"] is not None and st["code"].replace(" ", "") in (
        DEMO.at(t),
        DEMO.at(t - 1),
        DEMO.at(t + 1),
    )


def test_a_glitch_on_the_rtc_leaves_the_fob_on_its_code_screen(sim):
    sim.wait_for(lambda st: st["screen"] == "code" and right_code(st), what="the code")
    for _ in range(3):
        sim.ok("i2c-fault rtc glitch")
        # Long enough for the fob to read the chip (and meet the glitch) a few times.
        for _ in range(8):
            st = sim.status()
            assert st["screen"] == "code" and right_code(st), st
            time.sleep(0.2)
    assert st["boots"] == 1 and st["faults"] == []


def test_an_rtc_fault_shows_the_clock_fault_screen_and_no_code_until_it_clears(sim):
    sim.wait_for(lambda st: st["screen"] == "code" and right_code(st), what="the code")
    sim.ok("i2c-fault rtc on")
    st = sim.wait_for(
        lambda st: st["screen"] == "clock_fault", timeout=5, what="the clock-fault screen"
    )
    assert st["code"] is None and st["faults"] == ["rtc"]
    # Held while the fault lasts; no code ever shows.
    for _ in range(10):
        st = sim.status()
        assert st["screen"] == "clock_fault" and st["code"] is None
        time.sleep(0.1)
    assert "Clock not answering" in sim.output()
    sim.ok("i2c-fault rtc off")
    cleared = time.monotonic()
    st = sim.wait_for(
        lambda st: st["screen"] == "code" and right_code(st),
        timeout=10,
        what="the code after the fault",
    )
    assert time.monotonic() - cleared < 3.0
    assert st["boots"] == 1 and st["faults"] == []  # recovered without a restart


def test_a_display_fault_leaves_the_data_channel_answering(sim):
    sim.wait_for(lambda st: st["screen"] == "code", what="the code")
    sim.ok("i2c-fault display on")
    st = sim.wait_for(
        lambda st: st["faults"] == ["display"], timeout=5, what="the display fault noticed"
    )
    sent = st["i2c_bytes"]
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    r = subprocess.run(
        [OTPFOB, "--port", sim.data_url, "--json", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert [a["issuer"] for a in json.loads(r.stdout)] == ["otpfob"]
    assert "Display error" in sim.output()
    # The panel received nothing while it did not acknowledge.
    assert sim.status()["i2c_bytes"] == sent
    sim.ok("i2c-fault display off")
    st = sim.wait_for(
        lambda st: st["faults"] == [] and st["i2c_bytes"] > sent + 1024,
        timeout=5,
        what="the panel started again and redrawn",
    )
    assert st["screen"] == "code" and st["boots"] == 1


def test_fault_commands_name_what_is_wrong(sim):
    assert sim.control("i2c-fault rtc sideways").startswith("error usage: i2c-fault")
    assert sim.control("i2c-fault keyboard on").startswith("error usage: i2c-fault")
    assert sim.control("i2c-fault rtc").startswith("error usage: i2c-fault")
    assert sim.control("help").endswith("i2c-fault rtc|display on|off|glitch")


# -- the loop in this process, on a hand-driven clock ---------------------------------------


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


@pytest.fixture
def board(tmp_path, monkeypatch):
    """The fake CircuitPython modules over the chip models, installed in sys.modules, and
    the firmware's modules imported afresh over them (they take `time` at import)."""
    clock = FakeClock()
    world = World(epoch=T0, real_clock=clock, real_sleep=clock.sleep, wall_clock=lambda: T0)
    bus = Bus()
    bus.attach(0x68, DS3231(world)).set_epoch(T0)
    bus.attach(0x3C, SSD1306(128, 64))
    hw = cp.Hardware(
        world,
        bus,
        state_dir=str(tmp_path),
        data_link=BufferLink(),
        console_link=BufferLink(connected=False),
    )
    hw.usb_data = True
    hw.clock = clock
    for name, mod in cp.modules(hw).items():
        monkeypatch.setitem(sys.modules, name, mod)
    for name in [n for n in sys.modules if n == "fob" or n.startswith("fob.")]:
        monkeypatch.delitem(sys.modules, name)
    cfg = load_board("sim")
    cfg.STATE_DIR = str(tmp_path)
    hw.cfg = cfg
    yield hw
    for name in [n for n in sys.modules if n == "fob" or n.startswith("fob.")]:
        del sys.modules[name]


def test_a_loop_that_fails_on_every_pass_reloads_the_fob_and_answers_meanwhile(board):
    from fob import app, ui

    def broken(self):
        raise RuntimeError("a drawing bug")

    ui.UI.update = broken
    board.data_link.feed(b'{"id": 1, "cmd": "hello"}\n')
    with pytest.raises(cp.ReloadRequested):
        app.main(board.cfg)
    assert board.reset_calls == [("reload", None)]
    assert app.APP.failures == app.RELOAD_AFTER
    # The screen failed on every pass; the data channel answered all the same.
    reply = json.loads(board.data_link.drain().decode().splitlines()[0])
    assert reply["ok"] is True and reply["id"] == 1


def test_a_failure_that_passes_does_not_reload(board):
    from fob import app, ui

    real = ui.UI.update
    calls = [0]

    def flaky(self):
        calls[0] += 1
        if calls[0] % 10 == 0:
            raise MemoryError()
        return real(self)

    ui.UI.update = flaky
    board.world.sleep = _stop_after(board.world, 30 * 50)
    with pytest.raises(WorldStopped):
        app.main(board.cfg)
    assert board.reset_calls == []
    assert app.APP.failures == 0 and app.APP.ui.screen == "empty"  # drawn, no accounts yet


def test_the_loop_feeds_a_watchdog_set_to_reset_the_board(board):
    from fob import app

    board.world.sleep = _stop_after(board.world, 200)
    with pytest.raises(WorldStopped):
        app.main(board.cfg)
    dog = sys.modules["microcontroller"].watchdog
    assert dog.mode == "RESET" and dog.timeout == app.WATCHDOG_TIMEOUT <= 8
    # Fed on every pass of the loop, so a hang of a few seconds resets the board.
    assert dog.feeds >= 200


def _stop_after(world, sleeps):
    real = world.sleep
    count = [0]

    def sleep(seconds):
        count[0] += 1
        if count[0] > sleeps:
            raise WorldStopped()
        real(seconds)

    return sleep


def test_a_fob_started_with_the_rtc_unplugged_says_so_and_finds_it_later(board):
    from fob import app

    board.bus.set_fault(0x68, True)
    board.world.sleep = _stop_after(board.world, 100)
    with pytest.raises(WorldStopped):
        app.main(board.cfg)
    fob = app.APP
    assert fob.status()["screen"] == "clock_fault" and fob.status()["faults"] == ["rtc"]
    board.bus.set_fault(0x68, False)
    for _ in range(100):  # two seconds of the loop
        fob.step()
        board.clock.sleep(0.02)
    assert fob.status()["screen"] == "empty" and fob.status()["faults"] == []
    assert fob.clock.now() is not None


def test_while_the_rtc_is_unplugged_the_cli_names_the_wiring_not_the_time(sim):
    sim.wait_for(lambda st: st["screen"] == "code", what="the code")
    sim.ok("i2c-fault rtc on")
    sim.wait_for(lambda st: st["faults"] == ["rtc"], timeout=5, what="the RTC fault noticed")
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)

    def otpfob(*args):
        return subprocess.run(
            [OTPFOB, "--port", sim.data_url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    r = otpfob("code")
    assert r.returncode == 1 and r.stdout == ""
    assert "not answering" in r.stderr and "wiring" in r.stderr
    assert "time set" not in r.stderr and "internal" not in r.stderr
    r = otpfob("info")
    assert r.returncode == 0 and "not answering" in r.stdout and "time set" not in r.stdout
    r = otpfob("time", "show")
    assert r.returncode == 0 and "not answering" in r.stdout and "time set" not in r.stdout
    sim.ok("i2c-fault rtc off")
    sim.wait_for(right_code, timeout=5, what="the right code again")
    assert otpfob("code", "-s", "demo").stdout.strip().isdigit()
