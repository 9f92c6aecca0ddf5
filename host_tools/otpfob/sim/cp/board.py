"""Fake ``board``: every attribute name is a pin, so any board file can be simulated."""


class Pin:
    """A pin. ``external`` is what the outside world drives onto it (a pressed button
    pulls it to 0; None means nothing drives it); ``output`` is what firmware drives."""

    def __init__(self, name):
        self.name = name
        self.external = None
        self.output = None
        self.falls = 0  # edges driven from outside, latched as a GPIO interrupt would be
        self.rises = 0

    def __repr__(self):
        return "board.%s" % self.name


class Board:
    def __init__(self, hw):
        self._hw = hw
        self.board_id = hw.board_id

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._hw.pin(name)

    def I2C(self):
        """The board's default I2C bus (a singleton, as on CircuitPython)."""
        if self._hw.i2c_singleton is None:
            from otpfob.sim.cp import busio

            self._hw.i2c_singleton = busio.I2C(self.SCL, self.SDA)
        return self._hw.i2c_singleton

    def STEMMA_I2C(self):
        return self.I2C()
