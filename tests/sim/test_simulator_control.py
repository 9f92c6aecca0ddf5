"""The headless simulator's control port, driven through the test harness, running the
test firmware in fixtures/echo_fw (real Adafruit drivers, buttons, data channel echo)."""

import json
import time
from pathlib import Path

import pytest
from PIL import Image

from otpfob.sim.harness import SimProcess

ECHO_FW = Path(__file__).resolve().parent / "fixtures" / "echo_fw"

T0 = 1_800_000_000


@pytest.fixture(scope="module")
def fob(tmp_path_factory):
    with SimProcess(tmp_path_factory.mktemp("state"), firmware=ECHO_FW) as proc:
        proc.wait_for(lambda st: st["screen"] is not None, what="first frame")
        yield proc


def test_status_is_one_json_object_with_the_contract_keys(fob):
    reply = fob.control("status")
    assert reply.startswith("ok {")
    st = json.loads(reply[3:])
    for key in ("screen", "label", "code", "seconds_left", "i2c_bytes", "time", "display_on"):
        assert key in st
    assert st["label"] == "fixture"  # from the firmware's fob.app.APP.status()
    assert st["display_on"] is True
    assert st["firmware"] == "running"
    assert st["buttons"] == ["A", "B", "C"]


def test_press_is_seen_by_the_firmware_before_the_answer(fob):
    before = fob.status()["presses"]
    assert fob.control("press A") == "ok pressed A"
    after = fob.status()["presses"]
    assert after["A"] == before["A"] + 1
    assert after["B"] == before["B"]


def test_hold_keeps_the_button_down_for_that_long_in_virtual_time(fob):
    st0 = fob.status()
    assert fob.control("hold B 2") == "ok held B for 2 s"
    st1 = fob.status()
    assert st1["presses"]["B"] == st0["presses"]["B"] + 1
    assert st1["time"] - st0["time"] >= 2.1


@pytest.mark.parametrize(
    "line, needle",
    [
        ("press Z", "unknown button 'Z' (this board has A, B, C)"),
        ("press", "usage: press BUTTON"),
        ("press A B", "usage: press BUTTON"),
        ("hold A", "usage: hold BUTTON SECONDS"),
        ("hold A soon", "SECONDS must be a number, got 'soon'"),
        ("hold A -1", "SECONDS must be at least 0"),
        ("hold Q 1", "unknown button 'Q'"),
        ("clock yesterday", "EPOCH must be a number"),
        ("clock 100", "EPOCH must be at least 946684800"),
        ("clock 5000000000", "EPOCH must be at most"),
        ("advance -5", "SECONDS must be at least 0"),
        ("advance nan", "SECONDS must be a finite number"),
        ("screen", "usage: screen PATH"),
        ("status now", "usage: status"),
        ("reboot", "unknown command 'reboot'"),
        ("", "empty command"),
    ],
)
def test_bad_commands_answer_an_error_naming_the_problem(fob, line, needle):
    reply = fob.control(line)
    assert reply.startswith("error ")
    assert needle in reply


def test_screen_writes_a_png_of_the_oled(fob, tmp_path):
    path = tmp_path / "shot one.png"
    assert fob.control("screen %s" % path) == "ok %s" % path
    img = Image.open(path)
    assert img.size == (128, 64) and img.mode == "1"
    # The test firmware draws a seconds bar on the top rows: something is lit.
    assert img.convert("L").histogram()[255] > 0


def test_screen_to_an_unwritable_path_is_an_error(fob, tmp_path):
    reply = fob.control("screen %s" % (tmp_path / "missing" / "x.png"))
    assert reply.startswith("error cannot write")


def test_clock_sets_world_and_rtc_and_clears_osf(fob):
    fob.ok("rtc-power-loss")
    assert fob.ok("clock %d" % T0) == "clock %d" % T0
    st = fob.status()
    assert st["rtc_lost_power"] is False
    assert T0 <= st["rtc_time"] <= T0 + 2
    assert T0 <= st["time"] < T0 + 2
    fob.ok("advance 1.1")
    st = fob.status()
    assert st["screen"] == "fixture"
    assert T0 <= st["rtc_epoch"] <= st["rtc_time"] <= T0 + 4


def test_advance_moves_time_and_the_firmware_follows(fob):
    fob.ok("clock %d" % T0)
    start = time.monotonic()
    reply = fob.ok("advance 90")
    assert reply.startswith("advanced 90 s")
    assert time.monotonic() - start < 15
    st = fob.status()
    assert st["time"] >= T0 + 90
    assert st["rtc_time"] >= T0 + 90
    # The firmware read the RTC during the span and drew the result.
    assert st["rtc_epoch"] >= T0 + 89


def test_i2c_bytes_count_display_traffic(fob):
    b0 = fob.status()["i2c_bytes"]
    fob.ok("advance 3")
    b1 = fob.status()["i2c_bytes"]
    # One full show() (1,037 bytes) per second drawn.
    assert b1 - b0 >= 3 * 1037
    assert (b1 - b0) % 1037 == 0


def test_rtc_power_loss_sets_osf_and_the_firmware_notices(fob):
    fob.ok("clock %d" % T0)
    assert fob.ok("rtc-power-loss") == "rtc lost power"
    fob.ok("advance 1.1")
    st = fob.status()
    assert st["rtc_lost_power"] is True
    assert st["screen"] == "clock_not_set"
    assert st["rtc_time"] < 946684800 + 10
    fob.ok("clock %d" % T0)


def test_help_lists_the_commands(fob):
    reply = fob.ok("help")
    for cmd in ("press", "hold", "screen", "clock", "advance", "rtc-power-loss", "status", "quit"):
        assert cmd in reply


def test_quit_exits_cleanly(sim_factory):
    proc = sim_factory(firmware=ECHO_FW)
    assert proc.control("quit") == "ok quit"
    assert proc.proc.wait(15) == 0
