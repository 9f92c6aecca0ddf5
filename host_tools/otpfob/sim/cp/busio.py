"""Fake ``busio``: I2C over the simulated bus; SPI and UART are not simulated."""

from otpfob.sim import cp as _cp
from otpfob.sim.i2c import I2C as _BusI2C


class I2C(_BusI2C):
    def __init__(self, scl, sda, *, frequency=100000, timeout=255):
        hw = _cp.hw
        hw.claim(scl, self)
        try:
            hw.claim(sda, self)
        except ValueError:
            hw.release(scl, self)
            raise
        self._pins = (scl, sda)
        super().__init__(hw.bus, frequency, timeout)

    def deinit(self):
        for p in self._pins:
            _cp.hw.release(p, self)
        super().deinit()


class SPI:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("SPI is not simulated")


class UART:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("UART is not simulated")
