# Debounced push buttons wired to ground with the internal pull-ups (pressed reads False).

import time

from micropython import const

SHORT = "short"
LONG = "long"
LONG_PRESS = 0.8  # seconds held before a long press fires
# A contact must read the same on two polls this far apart before a change counts; switch
# bounce lasts a few milliseconds, a press far longer.
DEBOUNCE = 0.015


# Per-button state bits (one bytearray for all buttons: an object per button with its
# attribute table costs several hundred bytes of heap).
_RAW = const(1)     # the contact's last reading
_DOWN = const(2)    # debounced: held
_LONG = const(4)    # the long press of this hold has been reported


class Buttons:
    """poll() returns the events since the last poll as (name, "short"|"long") pairs.

    A short press is reported on release; a long press once, while still held, after
    LONG_PRESS seconds (its release then reports nothing).
    """

    def __init__(self, spec, board_module=None, digitalio_module=None, monotonic=None,
                 long_press=LONG_PRESS):
        if board_module is None:
            import board as board_module
        if digitalio_module is None:
            import digitalio as digitalio_module
        self._mono = monotonic or time.monotonic
        self.long_press = long_press
        self.pins = []
        self._events_of = []  # per button: its (short, long) events, made once
        for name, pin_name in spec:
            io = digitalio_module.DigitalInOut(getattr(board_module, pin_name))
            io.direction = digitalio_module.Direction.INPUT
            io.pull = digitalio_module.Pull.UP
            self.pins.append(io)
            self._events_of.append(((name, SHORT), (name, LONG)))
        n = len(self.pins)
        self.names = tuple(e[0][0] for e in self._events_of)
        self._state = bytearray(n)
        self._raw_since = [0.0] * n
        self._down_since = [0.0] * n
        # When each button's current (or last) press began: the first reading of the
        # contact closed, before the debounce confirmed it.
        self._began = [0.0] * n
        self._events = []
        self.last_activity = self._mono()

    def any_down(self):
        for s in self._state:
            if s & _DOWN:
                return True
        return False

    def down(self, name):
        """Whether button `name` is held now (debounced)."""
        return bool(self._state[self.names.index(name)] & _DOWN)

    def began(self, name):
        """When the press of button `name` now held (or last released) began."""
        return self._began[self.names.index(name)]

    def poll(self):
        events = self._events
        del events[:]
        now = self._mono()
        state = self._state
        for i in range(len(state)):
            s = state[i]
            pressed = not self.pins[i].value
            if pressed != bool(s & _RAW):
                s ^= _RAW
                self._raw_since[i] = now
            elif pressed != bool(s & _DOWN) and now - self._raw_since[i] >= DEBOUNCE:
                s ^= _DOWN
                self.last_activity = now
                if pressed:
                    self._down_since[i] = now
                    self._began[i] = self._raw_since[i]
                    s &= ~_LONG
                elif not s & _LONG:
                    events.append(self._events_of[i][0])
            if s & _DOWN and not s & _LONG and now - self._down_since[i] >= self.long_press:
                s |= _LONG
                self.last_activity = now
                events.append(self._events_of[i][1])
            state[i] = s
        return events
