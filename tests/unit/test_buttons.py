"""Debounced buttons: short press on release, long press once while held."""

import types

from fob.buttons import Buttons


class Pin:
    def __init__(self, name):
        self.name = name


class FakeIO:
    Direction = types.SimpleNamespace(INPUT="in", OUTPUT="out")
    Pull = types.SimpleNamespace(UP="up", DOWN="down")
    made = {}

    class DigitalInOut:
        def __init__(self, pin):
            self.pin = pin
            self.direction = None
            self.pull = None
            self.value = True  # pulled up: released
            FakeIO.made[pin.name] = self


class Rig:
    def __init__(self, spec=(("A", "GP15"), ("B", "GP14"), ("C", "GP13"))):
        FakeIO.made = {}
        board = types.SimpleNamespace(**{p: Pin(p) for _, p in spec})
        self.t = 0.0
        self.b = Buttons(spec, board, FakeIO, monotonic=lambda: self.t)
        self.pins = {n: FakeIO.made[p] for n, p in spec}
        self.events = []

    def run(self, seconds, dt=0.02):
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t += dt
            self.events.extend(self.b.poll())

    def press(self, name, held, after=0.2):
        self.pins[name].value = False
        self.run(held)
        self.pins[name].value = True
        self.run(after)


def test_pins_are_inputs_with_pull_ups():
    r = Rig()
    for io in r.pins.values():
        assert io.direction == "in" and io.pull == "up"
    assert r.b.names == ("A", "B", "C")


def test_short_press_reported_once_on_release():
    r = Rig()
    r.pins["A"].value = False
    r.run(0.2)
    assert r.events == []
    r.pins["A"].value = True
    r.run(0.2)
    assert r.events == [("A", "short")]


def test_long_press_fires_once_while_held_and_release_adds_nothing():
    r = Rig()
    r.pins["B"].value = False
    r.run(0.7)
    assert r.events == []
    r.run(0.2)
    assert r.events == [("B", "long")]
    r.run(2.0)
    r.pins["B"].value = True
    r.run(0.3)
    assert r.events == [("B", "long")]


def test_contact_bounce_shorter_than_a_poll_is_ignored():
    r = Rig()
    for _ in range(5):  # a glitch seen on single polls only
        r.pins["C"].value = False
        r.run(0.01, dt=0.01)
        r.pins["C"].value = True
        r.run(0.01, dt=0.01)
    r.run(0.5)
    assert r.events == []


def test_bouncy_press_counts_as_one():
    r = Rig()
    for v in (False, True, False, True, False):
        r.pins["A"].value = v
        r.run(0.004, dt=0.004)
    r.run(0.3)
    for v in (True, False, True):
        r.pins["A"].value = v
        r.run(0.004, dt=0.004)
    r.run(0.3)
    assert r.events == [("A", "short")]


def test_buttons_are_independent():
    r = Rig()
    r.pins["A"].value = False
    r.run(0.1)
    r.pins["C"].value = False
    r.run(0.1)
    r.pins["A"].value = True
    r.run(0.1)
    r.pins["C"].value = True
    r.run(0.1)
    assert r.events == [("A", "short"), ("C", "short")]


def test_one_button_board():
    r = Rig(spec=(("A", "BUTTON"),))
    r.press("A", 0.1)
    r.press("A", 1.0)
    assert r.events == [("A", "short"), ("A", "long")]
