"""The interactive front end: the OLED at 1:1 pixels in the terminal, keys for buttons.

Two pixel rows share one character cell through the half-block characters, so a
128x64 panel takes 128x32 cells.
"""

import os
import select
import sys
import termios
import threading
import time
import tty

HALF = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}

HOLD_SECONDS = 1.5
TAP_SECONDS = 0.1

# Arrow keys and Enter stand for the buttons: next/confirm (A) and previous/cancel (B).
KEYS = {
    "a": ("A", TAP_SECONDS), "b": ("B", TAP_SECONDS), "c": ("C", TAP_SECONDS),
    "A": ("A", HOLD_SECONDS), "B": ("B", HOLD_SECONDS), "C": ("C", HOLD_SECONDS),
    "\x1b[C": ("A", TAP_SECONDS), "\x1b[B": ("A", TAP_SECONDS),
    "\x1b[D": ("B", TAP_SECONDS), "\x1b[A": ("B", TAP_SECONDS),
    "\r": ("A", TAP_SECONDS), "\n": ("A", TAP_SECONDS),
}


def half_blocks(rows):
    """Text of a 1-bit image (rows of 0/1), two pixel rows per line."""
    lines = []
    for y in range(0, len(rows), 2):
        top = rows[y]
        bottom = rows[y + 1] if y + 1 < len(rows) else [0] * len(top)
        lines.append("".join(HALF[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return lines


def parse_keys(data):
    """Split terminal input into key names (escape sequences kept whole)."""
    out, i = [], 0
    while i < len(data):
        if data[i] == "\x1b" and data[i + 1:i + 2] == "[" and i + 2 < len(data):
            out.append(data[i:i + 3])
            i += 3
        else:
            out.append(data[i])
            i += 1
    return out


class Terminal:
    def __init__(self, sim, out=None, info_lines=()):
        self.sim = sim
        self.out = out or sys.__stdout__
        self.info_lines = list(info_lines)
        self._stop = threading.Event()
        self._last = None
        self._message = ""

    def help_lines(self):
        names = sorted(self.sim.buttons)
        keys = ", ".join("%s/%s" % (n.lower(), n) for n in names)
        return ["keys: %s press/hold (1.5 s) buttons %s; arrows and Enter too; q quits"
                % (keys, "/".join(names))]

    def _frame(self):
        with self.sim.bus.lock:
            rows = self.sim.display.rows()
        lines = half_blocks(rows)
        st_time = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.sim.world.now()))
        status = "world %s   firmware %s" % (st_time, self.sim.firmware_state)
        if self.sim.last_error:
            status += "   error: " + self.sim.last_error
        border = "+" + "-" * self.sim.display.width + "+"
        body = [border] + ["|" + ln + "|" for ln in lines] + [border]
        return body + [status, self._message] + self.info_lines + self.help_lines()

    def draw(self, force=False):
        frame = self._frame()
        if frame == self._last and not force:
            return
        self._last = frame
        self.out.write("\x1b[H" + "\n".join(ln + "\x1b[K" for ln in frame) + "\x1b[J")
        self.out.flush()

    def _tap(self, button, seconds):
        if button not in self.sim.buttons:
            self._message = "this board has no button %s" % button
            return
        self._message = "%s %s" % ("holding" if seconds > TAP_SECONDS else "pressed", button)
        self.sim.set_button(button, True)
        timer = threading.Timer(seconds, self.sim.set_button, (button, False))
        timer.daemon = True
        timer.start()

    def _draw_loop(self):
        while not self._stop.is_set():
            try:
                self.draw()
            except Exception as e:  # drawing must never kill the simulator
                self._message = "draw error: %s" % e
            self._stop.wait(0.05)

    def _key_loop(self, fd):
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(fd, 64).decode("utf-8", "replace")
            if not data:
                return
            for key in parse_keys(data):
                if key in ("q", "\x03"):
                    self.sim.request_quit()
                    return
                if key in KEYS:
                    self._tap(*KEYS[key])

    def start(self):
        self.out.write("\x1b[2J\x1b[?25l")
        fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
        self._saved_tty = None
        if fd is not None:
            self._saved_tty = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            threading.Thread(target=self._key_loop, args=(fd,), daemon=True).start()
        else:
            self._message = "stdin is not a terminal: keys are off (use --control)"
        threading.Thread(target=self._draw_loop, daemon=True).start()

    def stop(self):
        self._stop.set()
        try:
            self.draw(force=True)
        except Exception:
            pass
        if self._saved_tty is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_tty)
        self.out.write("\x1b[?25h\n")
        self.out.flush()
