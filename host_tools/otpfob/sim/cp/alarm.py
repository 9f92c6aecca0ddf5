"""Fake ``alarm``, as CircuitPython's RP2040 port behaves (ports/raspberrypi/common-hal/
alarm/): pin and time alarms, light sleep, deep sleep that ends code.py and starts the
board again at the alarm, and ``sleep_memory`` (256 bytes, kept through deep sleep).

A ``PinAlarm`` needs a free pin (ValueError when a DigitalInOut holds it). Pin alarms
latch: a press that comes and goes between two looks still wakes the board, as the
GPIO interrupt would. Sleeping moves the world's clock like ``time.sleep`` does, so the
control port's ``advance`` runs sleep as fast as awake time; ``Hardware.set_power``
counts the seconds spent in each state. Deep sleep raises ``DeepSleepRequested``, which
the runner (sim/runner.py) turns into the sleep and the restart. While a USB host is
connected, CircuitPython only pretends to deep sleep the first time (code.py restarts
without boot.py); the runner does the same.
"""

from otpfob.sim import cp as _cp

SLEEP_MEMORY_LENGTH = 256  # common-hal/alarm/SleepMemory.h
REAL_STEP = 0.01  # real seconds between looks at the pins while nothing fast-forwards

wake_alarm = None


class _SleepMemory:
    def __len__(self):
        return len(_cp.hw.sleep_memory)

    def __getitem__(self, i):
        return _cp.hw.sleep_memory[i]

    def __setitem__(self, i, v):
        _cp.hw.sleep_memory[i] = v


sleep_memory = _SleepMemory()


class PinAlarm:
    def __init__(self, pin, *, value, edge=False, pull=False):
        if pin is not None and pin in _cp.hw.claimed:
            raise ValueError("%s in use" % pin.name)
        self.pin = pin
        self.value = bool(value)
        self.edge = bool(edge)
        self.pull = bool(pull)


class TimeAlarm:
    def __init__(self, *, monotonic_time=None, epoch_time=None):
        if (monotonic_time is None) == (epoch_time is None):
            raise ValueError("Provide one of monotonic_time or epoch_time")
        if epoch_time is not None:
            monotonic_time = _cp.hw.world.monotonic() + (epoch_time - _cp.hw.world.now())
        self.monotonic_time = monotonic_time


class pin:  # the alarm.pin submodule
    PinAlarm = PinAlarm


class time:  # the alarm.time submodule
    TimeAlarm = TimeAlarm


def _validate(alarms):
    for a in alarms:
        if not isinstance(a, (PinAlarm, TimeAlarm)):
            raise TypeError("Expected a kind of Alarm")


def _arm(alarms):
    return [(a, a.pin.falls, a.pin.rises) if isinstance(a, PinAlarm) else (a, 0, 0) for a in alarms]


def _level(a):
    ext = a.pin.external
    if ext is not None:
        return bool(ext)
    return not a.value  # pulled (or left) to the level opposite the alarm's


def _triggered(armed, world):
    for a, falls, rises in armed:
        if isinstance(a, TimeAlarm):
            if world.monotonic() >= a.monotonic_time:
                return a
            continue
        edged = (a.pin.falls != falls) if not a.value else (a.pin.rises != rises)
        if edged or (not a.edge and _level(a) == a.value):
            return a
    return None


def wait(alarms):
    """Sleep on the world's clock until one of ``alarms``; returns it."""
    hw = _cp.hw
    world = hw.world
    armed = _arm(alarms)
    while True:
        woke = _triggered(armed, world)
        if woke is not None:
            return woke
        step = world.pending if world.pending > 0 else REAL_STEP
        for a, _, _ in armed:
            if isinstance(a, TimeAlarm):
                left = a.monotonic_time - world.monotonic()
                if left < step:
                    step = left if left > 0 else 0.0
        world.sleep(step)


def light_sleep_until_alarms(*alarms):
    global wake_alarm
    if not alarms:
        return None
    _validate(alarms)
    hw = _cp.hw
    hw.set_power("light_sleep")
    start = hw.world.monotonic()
    try:
        woke = wait(alarms)
    finally:
        hw.set_power("awake")
    # The RP2040's watchdog counts on through a light sleep: one left running resets the
    # board when the sleep outlasts its timeout, as it would on the chip.
    dog = hw.watchdog
    if (
        dog is not None
        and dog.mode is not None
        and hw.world.monotonic() - start > (dog.timeout or 0)
    ):
        from otpfob.sim.cp import microcontroller

        microcontroller.reset()
    wake_alarm = woke
    return woke


def exit_and_deep_sleep_until_alarms(*alarms, preserve_dios=()):
    _validate(alarms)
    if preserve_dios:
        raise NotImplementedError("preserve_dios")
    raise _cp.DeepSleepRequested(alarms)


def _refresh():
    """At each start of code.py: the alarm that woke the board, or None."""
    global wake_alarm
    wake_alarm = _cp.hw.wake_alarm
