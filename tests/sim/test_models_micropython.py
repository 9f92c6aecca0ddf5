"""The models and fake CircuitPython modules under the MicroPython unix port, with the
real Adafruit drivers on top, as the firmware tier runs them."""

import shutil
from pathlib import Path

import adafruit_bus_device
import adafruit_register
import pytest

from otpfob.testing import mpy

HOST_TOOLS = Path(__file__).resolve().parents[2] / "host_tools"

pytestmark = pytest.mark.skipif(mpy.unix_binary() is None, reason="no micropython binary")

SCRIPT = r"""
import gc
gc.collect()
free0 = gc.mem_free()
from otpfob.sim.world import World
from otpfob.sim.i2c import Bus
from otpfob.sim.ds3231 import DS3231
from otpfob.sim.ssd1306 import SSD1306
from otpfob.sim import cp
from otpfob.sim.cp.usb_cdc import BufferLink
w = World(epoch=1800000000)
bus = Bus()
rtc = bus.attach(0x68, DS3231(w))
oled = bus.attach(0x3C, SSD1306(128, 64))
link = BufferLink()
hw = cp.Hardware(w, bus, board_id="sim", data_link=link,
                 console_link=BufferLink(connected=False))
mods = cp.modules(hw)
for k in mods:
    sys.modules[k] = mods[k]
gc.collect()
print("sim_bytes", free0 - gc.mem_free())
hw.in_boot = True
import usb_cdc
usb_cdc.enable(console=True, data=True)
hw.in_boot = False
usb_cdc._refresh()
import board, busio, digitalio, time
i2c = busio.I2C(board.SCL, board.SDA)
import adafruit_ds3231, adafruit_ssd1306
d = adafruit_ds3231.DS3231(i2c)
print("lost_power", d.lost_power)
d.datetime = time.struct_time((2027, 1, 15, 8, 0, 0, 4, -1, -1))
t = d.datetime
print("datetime", t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, d.lost_power)
print("epoch", rtc.epoch())
o = adafruit_ssd1306.SSD1306_I2C(128, 64, i2c)
oled.reset_counters()
o.fill(1)
o.show()
print("show", oled.bytes_received, oled.lit_count())
b = digitalio.DigitalInOut(board.BUTTON_A)
b.switch_to_input(pull=digitalio.Pull.UP)
v1 = b.value
hw.press("BUTTON_A")
print("button", v1, b.value)
link.feed(b"hi\n")
print("line", usb_cdc.data.readline())
usb_cdc.data.write(b"yo")
print("tx", link.drain())
t0 = time.monotonic()
time.sleep(0.02)
print("slept", time.monotonic() - t0 >= 0.015)
import microcontroller, storage, supervisor
microcontroller.nvm[0:3] = b"abc"
print("nvm", bytes(microcontroller.nvm[0:4]), len(microcontroller.nvm))
storage.remount("/", readonly=False)
print("storage", hw.storage_calls[0][0], hw.storage_calls[0][1]["readonly"])
print("board", board.board_id, supervisor.runtime.usb_connected)
try:
    microcontroller.reset()
except cp.ResetRequested:
    print("reset", "raised")
"""


def test_models_and_fakes_run_the_adafruit_drivers_under_micropython(tmp_path):
    drivers = tmp_path / "drivers"
    drivers.mkdir()
    # Only the drivers themselves: site-packages also holds CPython-only modules that the
    # drivers' `try: import typing...` blocks would otherwise find.
    for pkg in (adafruit_bus_device, adafruit_register):
        shutil.copytree(Path(pkg.__file__).parent, drivers / pkg.__name__)
    site = Path(adafruit_bus_device.__file__).parents[1]
    for mod in ("adafruit_ds3231.py", "adafruit_ssd1306.py"):
        shutil.copy(site / mod, drivers / mod)
    res = mpy.run_unix(SCRIPT, paths=[str(HOST_TOOLS), str(drivers)], heapsize=256 * 1024)
    res.check()
    out = dict(line.split(" ", 1) for line in res.stdout.splitlines())
    assert out["lost_power"] == "True"
    assert out["datetime"] == "2027 1 15 8 0 0 False"
    assert out["epoch"] == "1800000000"
    assert out["show"] == "1037 8192"
    assert out["button"] == "True False"
    assert out["line"] == "b'hi\\n'"
    assert out["tx"] == "b'yo'"
    assert out["slept"] == "True"
    assert out["nvm"] == "b'abc\\xff' 4096"
    assert out["storage"] == "remount False"
    assert out["board"] == "sim True"
    assert out["reset"] == "raised"
    # The simulator's own share of the heap, reported so firmware heap budgets can
    # subtract it (measured about 53 KB on the unix port).
    assert 0 < int(out["sim_bytes"]) < 80 * 1024
