"""The simulator's line-based TCP control port (CPython only).

Every request is one line; every answer is one line starting with ``ok`` or ``error``.
"""

import json
import math
import socket
import socketserver
import threading

from otpfob.sim.ds3231 import EPOCH_2000

# The DS3231's calendar runs from 2000; its leap-year rule holds until 2100.
CLOCK_MIN = EPOCH_2000
CLOCK_MAX = 4102444800 - 1  # 2099-12-31 23:59:59
MAX_HOLD = 3600.0

HELP = (
    "commands: press BUTTON | hold BUTTON SECONDS | answer yes|no | screen PATH | "
    "clock EPOCH | "
    "down BUTTON | up BUTTON | advance SECONDS | jump SECONDS | rtc-power-loss | "
    "autopress on|off | usb on|off | battery VOLTS|none | status | quit | help"
)
I2C_FAULT_USAGE = "i2c-fault rtc|display on|off|glitch"
HELP += " | " + I2C_FAULT_USAGE


class CommandError(Exception):
    pass


def _number(text, what, low=None, high=None):
    try:
        v = float(text)
    except ValueError:
        raise CommandError("%s must be a number, got %r" % (what, text)) from None
    if math.isnan(v) or math.isinf(v):
        raise CommandError("%s must be a finite number, got %r" % (what, text))
    if low is not None and v < low:
        raise CommandError("%s must be at least %s, got %s" % (what, _fmt(low), text))
    if high is not None and v > high:
        raise CommandError("%s must be at most %s, got %s" % (what, _fmt(high), text))
    return v


def _fmt(v):
    return ("%d" % v) if v == int(v) else ("%g" % v)


def _args(parts, n, usage):
    if len(parts) - 1 != n:
        raise CommandError("usage: %s" % usage)
    return parts[1:]


class Controller:
    """Parses and runs control commands against a ``runner.Simulator``."""

    def __init__(self, sim):
        self.sim = sim

    def handle(self, line):
        line = line.strip()
        if not line:
            return "error empty command; " + HELP
        parts = line.split(None, 1) if line.split(None, 1)[0] == "screen" else line.split()
        cmd = parts[0]
        fn = getattr(self, "cmd_" + cmd.replace("-", "_"), None)
        if fn is None:
            return "error unknown command %r; %s" % (cmd, HELP)
        try:
            return "ok " + fn(parts)
        except CommandError as e:
            return "error %s" % e

    def _button(self, name):
        try:
            self.sim.button_pin(name)
        except ValueError as e:
            raise CommandError(str(e)) from None
        return name

    def cmd_press(self, parts):
        (name,) = _args(parts, 1, "press BUTTON")
        self.sim.press(self._button(name))
        return "pressed %s" % name

    def cmd_hold(self, parts):
        name, secs = _args(parts, 2, "hold BUTTON SECONDS")
        self._button(name)
        seconds = _number(secs, "SECONDS", 0.01, MAX_HOLD)
        self.sim.press(name, seconds)
        return "held %s for %s s" % (name, _fmt(seconds))

    def cmd_answer(self, parts):
        (what,) = _args(parts, 1, "answer yes|no")
        if what not in ("yes", "no"):
            raise CommandError("usage: answer yes|no (got %r)" % what)
        try:
            self.sim.answer(what == "yes")
        except ValueError as e:
            raise CommandError(str(e)) from None
        return "answered " + what

    def cmd_down(self, parts):
        (name,) = _args(parts, 1, "down BUTTON")
        self.sim.set_button(self._button(name), True)
        return "%s down" % name

    def cmd_up(self, parts):
        (name,) = _args(parts, 1, "up BUTTON")
        self.sim.set_button(self._button(name), False)
        return "%s up" % name

    def cmd_screen(self, parts):
        if len(parts) != 2 or not parts[1].strip():
            raise CommandError("usage: screen PATH")
        path = parts[1].strip()
        try:
            self.sim.screen_png(path)
        except OSError as e:
            raise CommandError("cannot write %s: %s" % (path, e.strerror or e)) from None
        return path

    def cmd_clock(self, parts):
        (text,) = _args(parts, 1, "clock EPOCH")
        epoch = _number(text, "EPOCH", CLOCK_MIN, CLOCK_MAX)
        self.sim.set_clock(int(epoch))
        return "clock %d" % int(epoch)

    def cmd_advance(self, parts):
        (text,) = _args(parts, 1, "advance SECONDS")
        seconds = _number(text, "SECONDS", 0.0, 366 * 86400.0)
        self.sim.advance(seconds)
        return "advanced %s s; time %.3f" % (_fmt(seconds), self.sim.world.now())

    def cmd_jump(self, parts):
        (text,) = _args(parts, 1, "jump SECONDS")
        seconds = _number(text, "SECONDS", 0.0, 100 * 366 * 86400.0)
        self.sim.jump(seconds)
        return "jumped %s s; time %.3f" % (_fmt(seconds), self.sim.world.now())

    def cmd_rtc_power_loss(self, parts):
        _args(parts, 0, "rtc-power-loss")
        self.sim.rtc_power_loss()
        return "rtc lost power"

    def cmd_autopress(self, parts):
        (state,) = _args(parts, 1, "autopress on|off")
        if state not in ("on", "off"):
            raise CommandError("usage: autopress on|off (got %r)" % state)
        self.sim.set_autopress(state == "on")
        return "autopress " + state

    def cmd_usb(self, parts):
        (state,) = _args(parts, 1, "usb on|off")
        if state not in ("on", "off"):
            raise CommandError("usage: usb on|off (got %r)" % state)
        self.sim.set_usb_host(state == "on")
        return "usb " + state

    def cmd_battery(self, parts):
        (text,) = _args(parts, 1, "battery VOLTS|none")
        if text == "none":
            self.sim.set_battery(None)
            return "battery none"
        volts = _number(text, "VOLTS", 0.0, 6.0)
        self.sim.set_battery(volts)
        return "battery %s V" % _fmt(volts)

    def cmd_i2c_fault(self, parts):
        part, mode = _args(parts, 2, I2C_FAULT_USAGE)
        if part not in ("rtc", "display") or mode not in ("on", "off", "glitch"):
            raise CommandError("usage: %s (got %r)" % (I2C_FAULT_USAGE, " ".join(parts[1:])))
        self.sim.i2c_fault(part, mode)
        return {
            "on": "%s stops acknowledging" % part,
            "off": "%s answers again" % part,
            "glitch": "the next %s transaction fails" % part,
        }[mode]

    def cmd_status(self, parts):
        _args(parts, 0, "status")
        return json.dumps(self.sim.status(), sort_keys=True)

    def cmd_help(self, parts):
        return HELP

    def cmd_quit(self, parts):
        _args(parts, 0, "quit")
        return "quit"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        for raw in self.rfile:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._send("error command is not UTF-8 text")
                continue
            with server.command_lock:
                reply = server.controller.handle(line)
            self._send(reply)
            if reply == "ok quit":
                server.controller.sim.request_quit()
                return

    def _send(self, text):
        try:
            self.wfile.write(text.replace("\n", " ").encode("utf-8") + b"\n")
            self.wfile.flush()
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ControlServer:
    """Serves the control port in background threads."""

    def __init__(self, sim, host="127.0.0.1", port=0):
        self.controller = Controller(sim)
        self._server = _Server((host, port), _Handler)
        self._server.controller = self.controller
        self._server.command_lock = threading.Lock()
        self.address = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="control",
            daemon=True,
        )
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def request(address, line, timeout=30.0):
    """One request on a fresh connection (a small client for scripts and tests)."""
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(line.encode("utf-8") + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode("utf-8").rstrip("\n")
