"""Fake ``supervisor``: ticks on the world's clock, USB and serial state, reload."""

from otpfob.sim import cp as _cp

_TICKS_PERIOD = 1 << 29


def ticks_ms():
    # CircuitPython's ticks_ms wraps at 2**29 ms (about 6.2 days).
    return int(_cp.hw.world.monotonic() * 1000) % _TICKS_PERIOD


class _Runtime:
    autoreload = True

    @property
    def usb_connected(self):
        return bool(_cp.hw.usb_host)

    @property
    def serial_connected(self):
        link = _cp.hw.console_link
        return bool(link is not None and link.connected)

    @property
    def serial_bytes_available(self):
        link = _cp.hw.console_link
        return link.available() if link is not None else 0


runtime = _Runtime()


def reload():
    _cp.hw.reset_calls.append(("reload", None))
    raise _cp.ReloadRequested()


def disable_autoreload():
    runtime.autoreload = False


def enable_autoreload():
    runtime.autoreload = True


def set_next_code_file(
    filename,
    *,
    reload_on_success=False,
    reload_on_error=False,
    sticky_on_success=False,
    sticky_on_error=False,
    sticky_on_reload=False,
):
    _cp.hw.reset_calls.append(("set_next_code_file", filename))
