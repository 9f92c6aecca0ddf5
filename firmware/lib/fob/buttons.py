# Debounced push buttons wired to ground with the internal pull-ups (pressed reads False).

import time

SHORT = "short"
LONG = "long"
LONG_PRESS = 0.8  # seconds held before a long press fires
# A contact must read the same on two polls this far apart before a change counts; switch
# bounce lasts a few milliseconds, a press far longer.
DEBOUNCE = 0.015


class _Button:
    def __init__(self, name, pin):
        self.name = name
        self.pin = pin
        self.raw = False
        self.raw_since = 0.0
        self.down = False
        self.down_since = 0.0
        self.long_fired = False
        self.short_event = (name, SHORT)
        self.long_event = (name, LONG)


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
        self.buttons = []
        for name, pin_name in spec:
            pin = getattr(board_module, pin_name)
            io = digitalio_module.DigitalInOut(pin)
            io.direction = digitalio_module.Direction.INPUT
            io.pull = digitalio_module.Pull.UP
            self.buttons.append(_Button(name, io))
        self.names = tuple(b.name for b in self.buttons)
        self._events = []
        self.last_activity = self._mono()

    def any_down(self):
        for b in self.buttons:
            if b.down:
                return True
        return False

    def poll(self):
        events = self._events
        del events[:]
        now = self._mono()
        for b in self.buttons:
            pressed = not b.pin.value
            if pressed != b.raw:
                b.raw = pressed
                b.raw_since = now
            elif pressed != b.down and now - b.raw_since >= DEBOUNCE:
                b.down = pressed
                self.last_activity = now
                if pressed:
                    b.down_since = now
                    b.long_fired = False
                elif not b.long_fired:
                    events.append(b.short_event)
            if b.down and not b.long_fired and now - b.down_since >= self.long_press:
                b.long_fired = True
                self.last_activity = now
                events.append(b.long_event)
        return events
