"""The out-of-process board (otpfob.sim.bridge): a script under the MicroPython unix port
drives the unmodified Adafruit drivers through the stand-in modules, and the register
models in this process answer."""

import pytest

from otpfob import resources
from otpfob.sim import bridge
from otpfob.testing import mpy

pytestmark = pytest.mark.skipif(mpy.unix_binary() is None, reason="no micropython binary")

EPOCH = 1800000000
DRIVERS = resources.drivers_path()


def run(script, board, on_sleep=lambda b: False, **kw):
    res = bridge.run(
        script, board, on_sleep, paths=[str(DRIVERS)], heapsize=256 * 1024, timeout=60, **kw
    )
    return res.check().stdout.split()


def test_drivers_reach_the_chip_models_through_the_stand_in_busio():
    board = bridge.Board(EPOCH)
    out = run(
        r"""
import board, busio, adafruit_ds3231, adafruit_ssd1306
i2c = busio.I2C(board.SCL, board.SDA)
rtc = adafruit_ds3231.DS3231(i2c)
print(rtc.lost_power)


class Fields:  # what the datetime setter reads (MicroPython has no time.struct_time)
    tm_year, tm_mon, tm_mday, tm_hour, tm_min, tm_sec, tm_wday = 2030, 6, 1, 12, 34, 56, 5


rtc.datetime = Fields()
oled = adafruit_ssd1306.SSD1306_I2C(128, 64, i2c)
oled.fill(0)
oled.pixel(5, 9, 1)
oled.show()
try:
    i2c.try_lock()
    i2c.writeto(0x50, b"")
except OSError as e:
    print("errno", e.args[0])
""",
        board,
    )
    assert out[0] == "False"  # the model was set at EPOCH: its oscillator-stop flag is clear
    assert board.rtc.epoch() == 1906547696  # 2030-06-01 12:34:56 UTC, as the driver wrote it
    assert board.panel.display_on is True
    assert board.panel.pixel(5, 9) and board.panel.lit_count() == 1
    assert out[1:] == ["errno", "19"]  # no device at 0x50: ENODEV, as CircuitPython


def test_pins_sleep_data_channel_and_uid_are_forwarded():
    board = bridge.Board(EPOCH, uid=b"\x01\x02\x03\x04\x05\x06\x07\x08")
    seen = []

    def on_sleep(b):
        t = b.monotonic()
        seen.append(t)
        if abs(t - 0.5) < 1e-9:
            b.press("BUTTON_A")
            b.send(b"ping\n")
        return t >= 1.0

    out = run(
        r"""
import board, digitalio, time, usb_cdc, microcontroller, simlink
floating = digitalio.DigitalInOut(board.BUTTON_A)
pin = digitalio.DigitalInOut(board.BUTTON_A)
pin.direction = digitalio.Direction.INPUT
pin.pull = digitalio.Pull.UP
levels = []
while not simlink.stopped:
    levels.append(pin.value)
    time.sleep(0.25)
print("".join(str(int(v)) for v in levels), floating.value, time.monotonic())
n = usb_cdc.data.in_waiting
got = usb_cdc.data.read(n)
usb_cdc.data.write(b"pong:" + got)
print(n, bytes(microcontroller.cpu.uid).hex())
""",
        board,
        on_sleep,
    )
    # Released: the pull-up reads high; pressed (from 0.5 s on): low. A pin read without
    # the pull set floats low, which is how a forgotten pull-up shows.
    assert out[:3] == ["1100", "False", "1.0"]
    assert seen == [0.25, 0.5, 0.75, 1.0]  # the loop stopped at the sleep that said so
    assert out[3:] == ["5", "0102030405060708"]
    assert board.received() == b"pong:ping\n"


def test_a_failing_script_reports_its_traceback_and_the_board_stays_usable():
    board = bridge.Board(EPOCH)
    res = bridge.run(
        "import board\nraise ValueError('boom')\n",
        board,
        lambda b: False,
        heapsize=64 * 1024,
        timeout=60,
    )
    assert res.rc != 0 and "ValueError: boom" in res.stdout + res.stderr
    with pytest.raises(AssertionError, match="boom"):
        res.check()
