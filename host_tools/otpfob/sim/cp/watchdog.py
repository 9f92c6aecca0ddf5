"""Fake ``watchdog``: the modes of ``microcontroller.watchdog`` (the timer itself lives
in the fake ``microcontroller``)."""


class WatchDogMode:
    RAISE = "RAISE"
    RESET = "RESET"


class WatchDogTimeout(Exception):
    pass
