# A measuring code.py for bench.realcp (not the fob's code.py): on real CircuitPython it
# times the fob's start the way code.py runs it, step by step (each module's import, then
# App() and the first frame), with time.monotonic_ns(), which counts from the chip's reset,
# and writes one "probe <step> <ms since reset> <ms for the step>" line per step to the
# data channel (the fob's boot.py turns the console off), then runs the fob as usual.
import time

_marks = [("code.py starts", time.monotonic_ns())]


def _mark(name):
    _marks.append((name, time.monotonic_ns()))


import gc  # noqa: E402

import board  # noqa: E402,F401
import busio  # noqa: E402,F401

_mark("import board, busio")
import fob_board  # noqa: E402

_mark("import fob_board")
for _name in (
    "fob.app",
    "fob.vault",
    "fob.font",
    "adafruit_framebuf",
    "adafruit_ssd1306",
    "fob.display",
    "adafruit_register.i2c_bcd_datetime",
    "adafruit_ds3231",
    "fob.clock",
    "fob.buttons",
    "fob.settings",
    "fob.ui",
    "fob.hmac",
    "fob.otp",
    "fob.power",
    "fob.protocol",
):
    __import__(_name)
    _mark("import " + _name)
from fob import app  # noqa: E402

fob = app.App(fob_board)
_mark("App(): vault read, display, clock, buttons, settings, UI, power, protocol")
gc.collect()
_mark("gc.collect()")
fob.ui.update()
_mark("first frame drawn (code computed)")
fob.display.flush()
_mark("first frame sent")
try:
    import usb_cdc

    _port = usb_cdc.data
except ImportError:
    _port = None
_t0 = time.monotonic()
while _port is not None and not _port.connected and time.monotonic() - _t0 < 30:
    time.sleep(0.1)  # the lines go to a host that listens
_free = gc.mem_free()
_last = _marks[0][1]
for _name, _t in _marks:
    _line = "probe %s\t%.1f\t%.1f\r\n" % (_name, _t / 1e6, (_t - _last) / 1e6)
    _last = _t
    if _port is not None:
        _port.write(_line.encode())
if _port is not None:
    _port.write(("probe-end free %d\r\n" % _free).encode())
app.APP = fob
while True:
    fob.step()
    time.sleep(app.LOOP_SLEEP)
