"""fob/power.py alone: when the fob may sleep, what it keeps through deep sleep, the
battery gauge's arithmetic. Small stand-ins for the UI, buttons and the alarm module."""

import types

import pytest

from fob import power


class FakeUI:
    def __init__(self, count=5, index=0):
        self.powered = False
        self.prompt = None
        self.notice = None
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


@pytest.mark.parametrize("blocker", ["powered", "prompt", "notice", "button", "host"])
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


def test_light_sleep_on_level_alarms_with_pull_ups_then_wake_to_the_ui(monkeypatch, board,
                                                                       no_host):
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


def test_after_the_light_sleep_deadline_the_entry_goes_to_sleep_memory(monkeypatch, board,
                                                                       no_host):
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


@pytest.mark.parametrize("volts,pct", [(3.2, 0), (3.3, 0), (3.7, 30), (3.85, 63),
                                       (4.2, 100), (4.3, 100)])
def test_gauge_percentages(volts, pct):
    assert power.percent(volts) == pct


def test_percent_never_falls_as_the_voltage_rises():
    values = [power.percent(3.0 + i / 100) for i in range(140)]
    assert values == sorted(values)
