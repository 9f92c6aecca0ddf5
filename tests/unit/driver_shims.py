"""Stand-ins the Adafruit drivers import on CPython, for unit tests that drive them
directly over the simulator's chip models (outside a running simulator, which installs
its own fake CircuitPython modules)."""

import sys
import types


def install():
    from otpfob.sim.i2c import I2C

    # `micropython` is the one stand-in tests/conftest.py installs for every tier.
    for name, attrs in (
        ("busio", {"I2C": I2C, "SPI": object}),
        ("digitalio", {"DigitalInOut": object}),
    ):
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                mod = types.ModuleType(name)
                mod.__dict__.update(attrs)
                sys.modules[name] = mod
