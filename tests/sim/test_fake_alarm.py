"""The simulator's fake `alarm` (sim/cp/alarm.py) keeps CircuitPython's RP2040 rules:
a PinAlarm needs a free pin, presses latch, sleep time moves the world's clock and is
counted per state, deep sleep ends the program."""

import pytest

from otpfob.sim import cp
from otpfob.sim.i2c import Bus
from otpfob.sim.world import World


class Clock:
    """A hand-driven clock; each real sleep moves it, and may run a scheduled event."""

    def __init__(self):
        self.t = 0.0
        self.events = []

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s
        while self.events and self.events[0][0] <= self.t:
            self.events.pop(0)[1]()


@pytest.fixture
def rig(tmp_path):
    clock = Clock()
    world = World(epoch=1_800_000_000, real_clock=clock, real_sleep=clock.sleep)
    hw = cp.Hardware(world, Bus(), state_dir=str(tmp_path))
    mods = cp.modules(hw, ("board", "digitalio", "alarm"))
    hw.set_power("awake")
    return clock, hw, mods


def test_a_pin_alarm_needs_a_free_pin(rig):
    _, _, m = rig
    pin = m["board"].BUTTON_A
    io = m["digitalio"].DigitalInOut(pin)
    with pytest.raises(ValueError, match="in use"):
        m["alarm"].pin.PinAlarm(pin, value=False, pull=True)
    io.deinit()
    assert m["alarm"].pin.PinAlarm(pin, value=False, pull=True).pin is pin


def test_light_sleep_ends_at_a_press_and_counts_its_seconds(rig):
    clock, hw, m = rig
    alarm = m["alarm"]
    pin = m["board"].BUTTON_B
    a = alarm.pin.PinAlarm(pin, value=False, pull=True)
    # Pressed and released within one look at the pins: the interrupt still latched it.
    clock.events = [
        (42.0, lambda: hw.press("BUTTON_B")),
        (42.001, lambda: hw.release_button("BUTTON_B")),
    ]
    woke = alarm.light_sleep_until_alarms(a, alarm.time.TimeAlarm(monotonic_time=1000))
    assert woke is a and alarm.wake_alarm is a
    totals = hw.power_totals()
    assert 41.9 < totals["light_sleep"] < 42.1
    assert hw.power == "awake"


def test_a_time_alarm_ends_light_sleep_at_its_time(rig):
    clock, hw, m = rig
    alarm = m["alarm"]
    t = alarm.time.TimeAlarm(monotonic_time=hw.world.monotonic() + 120)
    p = alarm.pin.PinAlarm(m["board"].BUTTON_A, value=False, pull=True)
    assert alarm.light_sleep_until_alarms(p, t) is t
    assert hw.power_totals()["light_sleep"] == pytest.approx(120, abs=0.02)


def test_deep_sleep_ends_the_program_with_its_alarms(rig):
    _, hw, m = rig
    alarm = m["alarm"]
    p = alarm.pin.PinAlarm(m["board"].BUTTON_A, value=False, pull=True)
    with pytest.raises(cp.DeepSleepRequested) as e:
        alarm.exit_and_deep_sleep_until_alarms(p)
    assert e.value.alarms == (p,)
    assert len(alarm.sleep_memory) == 256  # the RP2040 port's size
    alarm.sleep_memory[3] = 7
    assert hw.sleep_memory[3] == 7


def test_deep_sleep_with_a_host_connected_is_only_pretended_the_first_time(tmp_path):
    from otpfob.sim.runner import Simulator

    sim = Simulator(tmp_path / "state")
    mods = cp.modules(sim.hw, ("board", "alarm"))
    sim.hw.set_power("awake")
    a = mods["alarm"].pin.PinAlarm(mods["board"].BUTTON_A, value=False, pull=True)
    sim.hw.press("BUTTON_A")  # level-triggered: wakes at once
    # CircuitPython keeps the USB workflow: code.py restarts without a reset.
    assert sim.deep_sleep((a,)) is False
    sim.hw.usb_host = False
    assert sim.deep_sleep((a,)) is True  # a real one: the board resets (boot.py again)
    sim.hw.usb_host = True
    assert sim.deep_sleep((a,)) is True  # after a real deep sleep, every one is real
    assert sim.hw.wake_alarm.pin is None  # which button woke it is not known


def test_a_watchdog_left_running_resets_the_board_when_a_light_sleep_outlasts_it(rig):
    _, hw, m = rig
    mods = cp.modules(hw, ("microcontroller", "watchdog"))
    dog = mods["microcontroller"].watchdog
    dog.timeout = 8
    dog.mode = mods["watchdog"].WatchDogMode.RESET
    alarm = m["alarm"]
    t = alarm.time.TimeAlarm(monotonic_time=hw.world.monotonic() + 20)
    with pytest.raises(cp.ResetRequested):
        alarm.light_sleep_until_alarms(t)
    # Stopped first (as the firmware does before it sleeps), the same sleep ends at its alarm.
    dog.deinit()
    t = alarm.time.TimeAlarm(monotonic_time=hw.world.monotonic() + 20)
    assert alarm.light_sleep_until_alarms(t) is t
