"""``micropython`` for CPython: the Adafruit drivers import ``const`` from it."""


def const(x):
    return x


def native(f):
    return f


viper = native


def opt_level(level=None):
    return 0


def mem_info(verbose=None):
    pass
