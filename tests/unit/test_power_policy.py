"""fob/power.py alone: when the fob may sleep, what it keeps through deep sleep, the
battery gauge's arithmetic. Small stand-ins for the UI, buttons and the alarm module."""

import sys
import types

import pytest

from fob import power


class FakeUI:
    def __init__(self, count=5, index=0):
        self.powered = False
        self.prompt = None
        self.notice = None
        self.busy = False
        self.index = index
        self.count = count
        self.restored = None
        self.woken = 0
        self.overlay = None
        self.overlay_room = 0

    def shown(self):
        return self.index, self.count

    def restore(self, index, count):
        self.restored = (index, count)

    def wake_from_sleep(self):
        self.woken += 1
        self.powered = True


class FakePin:
    def __init__(self):
        self.deinited = False

    def deinit(self):
        self.deinited = True


class FakeButtons:
    def __init__(self, down=False):
        self.pins = [FakePin(), FakePin()]
        self.down = down

    def any_down(self):
        return self.down


class FakeAlarm:
    """The parts of CircuitPython's alarm the policy uses; light sleep ends at a press."""

    def __init__(self, woke_by="pin", wake_alarm=None):
        self.sleep_memory = bytearray(256)
        self.wake_alarm = wake_alarm
        self.calls = []
        self.woke_by = woke_by

        class PinAlarm:
            def __init__(self, pin, *, value, edge=False, pull=False):
                self.pin, self.value, self.edge, self.pull = pin, value, edge, pull

        class TimeAlarm:
            def __init__(self, *, monotonic_time):
                self.monotonic_time = monotonic_time

        self.pin = types.SimpleNamespace(PinAlarm=PinAlarm)
        self.time = types.SimpleNamespace(TimeAlarm=TimeAlarm)

    def light_sleep_until_alarms(self, *alarms):
        self.calls.append(("light", alarms))
        kind = self.pin.PinAlarm if self.woke_by == "pin" else self.time.TimeAlarm
        return next(a for a in alarms if isinstance(a, kind))

    def exit_and_deep_sleep_until_alarms(self, *alarms):
        self.calls.append(("deep", alarms))
        raise SystemExit("deep sleep")


class Cfg:
    BUTTONS = (("A", "GP15"), ("B", "GP14"))
    SLEEP_MODES = ("light", "deep")


@pytest.fixture
def board():
    return types.SimpleNamespace(GP15="pin15", GP14="pin14")


@pytest.fixture
def no_host(monkeypatch):
    monkeypatch.setattr(power.Power, "host", lambda self: False)


def make(monkeypatch, board, fake, ui=None, buttons=None, cfg=Cfg):
    monkeypatch.setattr(power, "alarm", fake)
    monkeypatch.setattr(power.Power, "_reclaim", lambda self: None)
    return power.Power(cfg, board, buttons or FakeButtons(), ui or FakeUI())


@pytest.mark.parametrize("blocker", ["powered", "prompt", "notice", "button", "host", "change"])
def test_the_fob_does_not_sleep_while_anything_needs_it(monkeypatch, board, blocker):
    ui, buttons = FakeUI(), FakeButtons()
    fake = FakeAlarm()
    p = make(monkeypatch, board, fake, ui, buttons)
    monkeypatch.setattr(power.Power, "host", lambda self: blocker == "host")
    if blocker == "powered":
        ui.powered = True
    elif blocker == "prompt":
        ui.prompt = "Add Mail / bob?"
    elif blocker == "notice":
        ui.notice = "Fob erased"
    elif blocker == "button":
        buttons.down = True
    elif blocker == "change":
        ui.busy = True  # a host's change written a step a pass (the vault is busy)
    assert p.step() is False
    assert fake.calls == []


def test_without_the_alarm_module_the_fob_never_sleeps(monkeypatch, board, no_host):
    monkeypatch.setattr(power, "alarm", None)
    p = power.Power(Cfg, board, FakeButtons(), FakeUI())
    assert not (p.light or p.deep)
    assert p.step() is False


def test_a_board_without_sleep_modes_stays_awake(monkeypatch, board, no_host):
    class Plain:
        BUTTONS = Cfg.BUTTONS

    fake = FakeAlarm()
    p = make(monkeypatch, board, fake, cfg=Plain)
    assert p.step() is False and fake.calls == []


def test_light_sleep_on_level_alarms_with_pull_ups_then_wake_to_the_ui(monkeypatch, board, no_host):
    ui, buttons = FakeUI(), FakeButtons()
    fake = FakeAlarm()
    p = make(monkeypatch, board, fake, ui, buttons)
    assert p.step() is True  # woke: the caller swallows the press
    kind, alarms = fake.calls[0]
    assert kind == "light"
    pins = [a for a in alarms if isinstance(a, fake.pin.PinAlarm)]
    assert [a.pin for a in pins] == ["pin15", "pin14"]
    assert all(a.value is False and a.pull is True and a.edge is False for a in pins)
    # The buttons' pins were freed for the alarms (a PinAlarm needs a free pin).
    assert all(io.deinited for io in buttons.pins)
    # The deep-sleep deadline rides along as a time alarm.
    assert any(isinstance(a, fake.time.TimeAlarm) for a in alarms)
    assert ui.woken == 1


def test_after_the_light_sleep_deadline_the_entry_goes_to_sleep_memory(monkeypatch, board, no_host):
    ui = FakeUI(count=7, index=300 % 7)
    fake = FakeAlarm(woke_by="time")
    p = make(monkeypatch, board, fake, ui)
    with pytest.raises(SystemExit):
        p.step()
    assert [c[0] for c in fake.calls] == ["light", "deep"]
    deep_alarms = fake.calls[1][1]
    assert all(isinstance(a, fake.pin.PinAlarm) for a in deep_alarms)
    # code.py starts again after the wake: the entry comes back from sleep_memory.
    fake.wake_alarm = fake.pin.PinAlarm(None, value=False)
    ui2 = FakeUI(count=7)
    p2 = make(monkeypatch, board, fake, ui2)
    assert p2.woke is True
    assert ui2.restored == (300 % 7, 7)


def test_a_plain_power_up_restores_nothing(monkeypatch, board):
    fake = FakeAlarm()
    fake.sleep_memory[:6] = bytes((0x4F, 0x46, 3, 0, 5, 0))
    ui = FakeUI()
    p = make(monkeypatch, board, fake, ui)
    assert p.woke is False and ui.restored is None


def test_a_failing_sleep_leaves_the_fob_awake_for_good(monkeypatch, board, no_host):
    fake = FakeAlarm()

    def refuse(*alarms):
        raise ValueError("GP15 in use")

    fake.light_sleep_until_alarms = refuse
    ui = FakeUI()
    p = make(monkeypatch, board, fake, ui)
    assert p.step() is False
    assert not (p.light or p.deep) and ui.woken == 0
    assert p.step() is False  # no second try


@pytest.mark.parametrize(
    "volts,pct", [(3.2, 0), (3.3, 0), (3.7, 30), (3.85, 63), (4.2, 100), (4.3, 100)]
)
def test_gauge_percentages(volts, pct):
    assert power.percent(volts) == pct


def test_percent_never_falls_as_the_voltage_rises():
    values = [power.percent(3.0 + i / 100) for i in range(140)]
    assert values == sorted(values)


# --------------------------------------------------------------------------- the watchdog


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def monotonic(self):
        return self.t


class FakeDog:
    """microcontroller.watchdog in RESET mode as each CircuitPython major has it: 9.x
    stops with mode = None or deinit(), 10.x has no deinit(), 8.x refuses both."""

    def __init__(self, major):
        self.major = major
        self._mode = "RESET"
        self.feeds = []
        self.clock = None

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, value):
        if self.major == 8 and self._mode == "RESET" and value != "RESET":
            raise TypeError("WatchDogTimer.mode cannot be changed once set to WatchDogMode.RESET")
        self._mode = value

    def __getattr__(self, name):
        if name == "deinit" and self.major != 10:
            return self._deinit
        raise AttributeError(name)

    def _deinit(self):
        if self.major == 8:
            raise RuntimeError("WatchDogTimer cannot be deinitialized once mode is set to RESET")
        self._mode = None

    def feed(self):
        self.feeds.append(self.clock.t)


class SlicedAlarm(FakeAlarm):
    """Light sleep that ends at its time alarm (moving the clock there), or at a press
    once the clock reaches `press_at`; records each sleep's time alarm."""

    def __init__(self, clock, press_at=None):
        FakeAlarm.__init__(self)
        self.clock = clock
        self.press_at = press_at
        self.untils = []

    def light_sleep_until_alarms(self, *alarms):
        self.calls.append(("light", alarms))
        times = [a for a in alarms if isinstance(a, self.time.TimeAlarm)]
        until = times[0].monotonic_time if times else None
        self.untils.append(None if until is None else until - self.clock.t)
        if self.press_at is not None and (until is None or self.press_at <= until):
            self.clock.t = max(self.clock.t, self.press_at)
            return next(a for a in alarms if isinstance(a, self.pin.PinAlarm))
        self.clock.t = until
        return times[0]


def sleeping(monkeypatch, board, major, press_after=None):
    clock = FakeClock()
    monkeypatch.setattr(power, "time", clock)
    dog = FakeDog(major)
    dog.clock = clock
    monkeypatch.setitem(sys.modules, "microcontroller", types.SimpleNamespace(watchdog=dog))
    fake = SlicedAlarm(clock, None if press_after is None else clock.t + press_after)
    ui = FakeUI()
    p = make(monkeypatch, board, fake, ui)
    return p, fake, dog, clock, ui


@pytest.mark.parametrize("major", [9, 10])
def test_the_watchdog_is_stopped_for_a_sleep_on_circuitpython_9_and_10(
    monkeypatch, board, no_host, major
):
    p, fake, dog, clock, ui = sleeping(monkeypatch, board, major)
    with pytest.raises(SystemExit):
        p.step()
    assert dog.mode is None and dog.feeds == []
    # One light sleep up to the deep-sleep deadline, then deep sleep: no slices.
    assert fake.untils == [power.DEEP_AFTER]
    assert [c[0] for c in fake.calls] == ["light", "deep"]


def test_on_circuitpython_8_the_light_sleep_feeds_a_watchdog_it_cannot_stop(
    monkeypatch, board, no_host
):
    p, fake, dog, clock, ui = sleeping(monkeypatch, board, 8)
    start = clock.t
    with pytest.raises(SystemExit):
        p.step()
    assert dog.mode == "RESET"
    # Slices no longer than FEED_EVERY (well inside the 8 s timeout) up to the deadline,
    # a feed after each, then deep sleep (the crystal stops, and the watchdog with it).
    assert all(0 < u <= power.FEED_EVERY for u in fake.untils)
    assert sum(fake.untils) == pytest.approx(power.DEEP_AFTER)
    gaps = [b - a for a, b in zip([start] + dog.feeds[:-1], dog.feeds, strict=True)]
    assert gaps and max(gaps) <= power.FEED_EVERY
    assert fake.calls[-1][0] == "deep" and clock.t == pytest.approx(start + power.DEEP_AFTER)


def test_on_circuitpython_8_a_press_still_wakes_the_fob_between_feeds(monkeypatch, board, no_host):
    p, fake, dog, clock, ui = sleeping(monkeypatch, board, 8, press_after=10.5)
    assert p.step() is True
    assert ui.woken == 1 and [c[0] for c in fake.calls] == ["light"] * 3
    assert len(dog.feeds) == 2  # at 4 and 8 s; the press came at 10.5 s


def test_after_a_wake_the_loop_draws_the_code_in_the_same_pass(monkeypatch):
    # Not after the loop's sleep (LOOP_SLEEP) and one more pass: a light-sleep wake on
    # real CircuitPython is that much sooner (docs/power.md).
    from fob import app as app_module

    order = []

    class UI:
        powered = True

        def update(self):
            order.append("update")
            return True

    class Power:
        def step(self):
            order.append("sleep and wake")
            return True

    class Display:
        def flush(self):
            order.append("flush")

    class Buttons:
        def poll(self):
            return []

    a = app_module.App.__new__(app_module.App)
    a.ui, a.power, a.display, a.buttons = UI(), Power(), Display(), Buttons()
    a._released, a._maintenance, a.protocol, a.failures = True, None, None, 0
    a._listen = a._watch_parts = lambda: None
    monkeypatch.setattr(app_module, "start_watchdog", lambda: None)
    assert a.step() is True
    assert order == ["sleep and wake", "update", "flush"]
    assert a.failures == 0
