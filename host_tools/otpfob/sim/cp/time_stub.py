"""The firmware's ``time``: monotonic and sleep on the world's clock (so the simulator
can fast-forward the firmware loop); the calendar functions are the real module's."""

import time as _real

from otpfob.sim import cp as _cp


def monotonic():
    return _cp.hw.world.monotonic()


def monotonic_ns():
    return int(_cp.hw.world.monotonic() * 1000000000)


def sleep(seconds):
    _cp.hw.world.sleep(seconds)


def ticks_ms():
    return int(_cp.hw.world.monotonic() * 1000) & 0x3FFFFFFF


def ticks_diff(a, b):
    return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000


def ticks_add(a, delta):
    return (a + delta) & 0x3FFFFFFF


time = _real.time
localtime = _real.localtime
mktime = _real.mktime
for _name in ("struct_time", "gmtime", "time_ns"):
    if hasattr(_real, _name):
        globals()[_name] = getattr(_real, _name)

if not hasattr(_real, "struct_time"):
    # MicroPython's time has no struct_time (and cannot subclass tuple with __new__);
    # CircuitPython code and the Adafruit drivers construct and read one.
    class struct_time:
        def __init__(self, fields):
            self._f = tuple(fields)
            if len(self._f) != 9:
                raise TypeError("time.struct_time() takes a 9-sequence")

        def __getitem__(self, i):
            return self._f[i]

        def __len__(self):
            return 9

        def __iter__(self):
            return iter(self._f)

        def __eq__(self, other):
            return tuple(self) == tuple(other)

        def __repr__(self):
            return "struct_time(%r)" % (self._f,)

        tm_year = property(lambda self: self._f[0])
        tm_mon = property(lambda self: self._f[1])
        tm_mday = property(lambda self: self._f[2])
        tm_hour = property(lambda self: self._f[3])
        tm_min = property(lambda self: self._f[4])
        tm_sec = property(lambda self: self._f[5])
        tm_wday = property(lambda self: self._f[6])
        tm_yday = property(lambda self: self._f[7])
        tm_isdst = property(lambda self: self._f[8])
