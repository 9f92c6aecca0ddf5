# What the modules behind the data channel share, so none of them imports fob/protocol.py
# (which imports them): the line limit, time for timeouts and the port's link state. A
# leaf: it imports nothing of the fob (unload() only looks the package up).
import time

# A request line is at most this many bytes, its newline not counted (docs/protocol.md).
MAX_LINE = 2048
# What a command handler returns besides a plain reply (fob/policy.py says how each is
# answered): the tags of a long reply and of something to do, and what a thing to do
# needs beyond its command's rule.
LONG = 1
ACT = 2
# What an ACT's done(pressed) may return instead of a reply: (WORK, steps), a generator
# that does a long change a slice per loop pass (next() each pass; the value it returns is
# the reply), so no pass comes near the watchdog. run_steps() runs one through at once.
WORK = 3
NEED_PRESS = 1
NEED_LOGIN = 2


def monotonic():
    # CircuitPython has time.monotonic(); MicroPython has only time.time() (whole seconds
    # on some ports), which is enough for timeouts of seconds. Looked up by name only when
    # missing: a stand-in time module may lack time.time.
    try:
        return time.monotonic()
    except AttributeError:
        return time.time()


def port_linked(port):
    # usb_cdc's "connected" (DTR up); a port without one is taken as always connected.
    # Not getattr(port, name, default): MicroPython lets a module's __getattr__ raise
    # through it.
    try:
        return bool(port.connected)
    except AttributeError:
        return True


def unload(name):
    """Forget the module fob.<name>, imported for a request, so the collector can take it
    back (the next request that needs it imports it again)."""
    import sys

    import fob

    sys.modules.pop("fob." + name, None)
    try:
        delattr(fob, name)
    except (AttributeError, KeyError, TypeError):  # MicroPython: KeyError when not there
        pass


def run_steps(steps):
    """Runs a generator of steps (see WORK) to its end; what it returns."""
    try:
        while True:
            next(steps)
    except StopIteration as e:
        return e.args[0] if e.args else None
