"""The interactive front end: the OLED drawn in the terminal, keys for buttons.

The drawing fits the window: at 1:1 pixels with half-block characters (two pixel rows
per cell, so a 128x64 panel takes 128x32 cells) when the window is big enough, else with
quadrant characters (2x2 pixels per cell, 64x32 cells), else with braille (2x4 pixels per
cell: 64x16 cells, which fits an 80x24 terminal). Every line is cut to the window's width
and the frame to its height, so nothing ever wraps; a resize redraws from a clean screen.
"""

import os
import select
import sys
import termios
import textwrap
import threading
import time
import tty

HALF = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}
# Quadrant block elements by (top left, top right, bottom left, bottom right).
QUADRANT = {
    (0, 0, 0, 0): " ",
    (1, 0, 0, 0): "\u2598",
    (0, 1, 0, 0): "\u259d",
    (1, 1, 0, 0): "\u2580",
    (0, 0, 1, 0): "\u2596",
    (1, 0, 1, 0): "\u258c",
    (0, 1, 1, 0): "\u259e",
    (1, 1, 1, 0): "\u259b",
    (0, 0, 0, 1): "\u2597",
    (1, 0, 0, 1): "\u259a",
    (0, 1, 0, 1): "\u2590",
    (1, 1, 0, 1): "\u259c",
    (0, 0, 1, 1): "\u2584",
    (1, 0, 1, 1): "\u2599",
    (0, 1, 1, 1): "\u259f",
    (1, 1, 1, 1): "\u2588",
}
# Braille dot bits by (x, y) inside a 2x4 cell (Unicode's dot numbering 1-8).
BRAILLE_BITS = (
    (0, 0, 0x01),
    (0, 1, 0x02),
    (0, 2, 0x04),
    (1, 0, 0x08),
    (1, 1, 0x10),
    (1, 2, 0x20),
    (0, 3, 0x40),
    (1, 3, 0x80),
)
BRAILLE_BASE = 0x2800

HOLD_SECONDS = 2.0  # longer than the fob's hold for a yes (fob/ui.py HOLD_SECONDS)
TAP_SECONDS = 0.1

# Arrow keys and Enter stand for the buttons: next/confirm (A) and previous/cancel (B).
KEYS = {
    "a": ("A", TAP_SECONDS),
    "b": ("B", TAP_SECONDS),
    "c": ("C", TAP_SECONDS),
    "A": ("A", HOLD_SECONDS),
    "B": ("B", HOLD_SECONDS),
    "C": ("C", HOLD_SECONDS),
    "\x1b[C": ("A", TAP_SECONDS),
    "\x1b[B": ("A", TAP_SECONDS),
    "\x1b[D": ("B", TAP_SECONDS),
    "\x1b[A": ("B", TAP_SECONDS),
    "\r": ("A", TAP_SECONDS),
    "\n": ("A", TAP_SECONDS),
}


def _pixel(rows, x, y):
    if y < len(rows) and x < len(rows[y]):
        return 1 if rows[y][x] else 0
    return 0


def half_blocks(rows):
    """Text of a 1-bit image (rows of 0/1), two pixel rows per line."""
    lines = []
    for y in range(0, len(rows), 2):
        top = rows[y]
        bottom = rows[y + 1] if y + 1 < len(rows) else [0] * len(top)
        lines.append("".join(HALF[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return lines


def quadrants(rows):
    """Text of a 1-bit image, 2x2 pixels per character."""
    width = len(rows[0]) if rows else 0
    return [
        "".join(
            QUADRANT[
                (
                    _pixel(rows, x, y),
                    _pixel(rows, x + 1, y),
                    _pixel(rows, x, y + 1),
                    _pixel(rows, x + 1, y + 1),
                )
            ]
            for x in range(0, width, 2)
        )
        for y in range(0, len(rows), 2)
    ]


def braille(rows):
    """Text of a 1-bit image, 2x4 pixels per character (a 128x64 panel in 64x16)."""
    width = len(rows[0]) if rows else 0
    lines = []
    for y in range(0, len(rows), 4):
        cells = []
        for x in range(0, width, 2):
            bits = 0
            for dx, dy, bit in BRAILLE_BITS:
                if _pixel(rows, x + dx, y + dy):
                    bits |= bit
            cells.append(chr(BRAILLE_BASE + bits))
        lines.append("".join(cells))
    return lines


# Largest first: the first whose frame fits the window is drawn.
DRAWINGS = (("1:1", half_blocks, 1, 2), ("quadrant", quadrants, 2, 2), ("braille", braille, 2, 4))


def choose_drawing(width, height, columns, rows):
    """(name, function) of the largest drawing of a width x height panel, border included,
    that fits in columns x rows cells (None: no limit)."""
    for name, draw, px_w, px_h in DRAWINGS:
        cells_w = -(-width // px_w) + 2
        cells_h = -(-height // px_h) + 2
        if (columns is None or cells_w <= columns) and (rows is None or cells_h <= rows):
            return name, draw
    return DRAWINGS[-1][:2]


def window_size(out):
    """(columns, rows) of the terminal `out` writes to, or None when it is not one (or
    reports no size, as a bare pty does)."""
    try:
        size = os.get_terminal_size(out.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    if size.columns <= 0 or size.lines <= 0:
        return None
    return size.columns, size.lines


def parse_keys(data):
    """Split terminal input into key names (escape sequences kept whole)."""
    out, i = [], 0
    while i < len(data):
        if data[i] == "\x1b" and data[i + 1 : i + 2] == "[" and i + 2 < len(data):
            out.append(data[i : i + 3])
            i += 3
        else:
            out.append(data[i])
            i += 1
    return out


class Terminal:
    def __init__(self, sim, out=None, info_lines=(), size=None):
        self.sim = sim
        self.out = out or sys.__stdout__
        self.info_lines = list(info_lines)
        # size() -> (columns, rows) or None; the real window's by default.
        self.size = size or (lambda: window_size(self.out))
        self._stop = threading.Event()
        self._last = None
        self._last_size = None
        self._message = ""
        self.drawing = None  # the name of the drawing last chosen

    def help_lines(self):
        names = sorted(self.sim.buttons)
        keys = ", ".join("%s/%s" % (n.lower(), n) for n in names)
        return [
            "keys: %s tap/hold (2 s) buttons %s; arrows, Enter; q quits" % (keys, "/".join(names))
        ]

    def _text_lines(self, width):
        st_time = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.sim.world.now()))
        status = "world %s   firmware %s" % (st_time, self.sim.firmware_state)
        if self.sim.last_error:
            status += "   error: " + self.sim.last_error
        lines = [status, self._message]
        if self.sim.firmware_state in ("running", "deep_sleep") and not self.sim.display.display_on:
            # As on the fob: dark after 30 s idle, and the first press only wakes it.
            lines.append(
                "The fob sleeps (its screen is off after 30 s idle): press a (button A) to wake it."
            )
        lines += self.info_lines + self.help_lines()
        if width is None:
            return lines
        out = []
        for line in lines:
            out.extend(textwrap.wrap(line, width, break_on_hyphens=False) or [""])
        return out

    def _screen_text(self):
        """What the screen shows, in words: the question, or the label and its code."""
        status = getattr(self.sim, "status", None)
        if status is None:
            return None
        try:
            st = status()
        except Exception:
            return None
        if st.get("prompt"):
            return "On the screen: " + " ".join(str(st["prompt"]).split())
        if st.get("label"):
            return "On the screen: %s  %s" % (st["label"], st.get("code") or "")
        return None

    def frame(self, size=None):
        with self.sim.bus.lock:
            rows = self.sim.display.rows()
        width = self.sim.display.width
        cols, height = size if size is not None else (None, None)
        # A line as wide as the window makes the cursor wrap on some terminals: keep one
        # column free.
        usable = None if cols is None else max(1, cols - 1)
        text = self._text_lines(usable)
        self.drawing, draw = choose_drawing(
            width, len(rows), usable, None if height is None else height - len(text)
        )
        body = draw(rows)
        border = "+" + "-" * len(body[0] if body else "") + "+"
        shown = self._screen_text() if self.drawing == "braille" else None
        if shown:
            # Braille dots halve the panel's pixels: a label drawn in them is hard to
            # read, so the line under the screen says in text what it shows.
            text = [shown if usable is None else shown[:usable]] + text
        frame = [border] + ["|" + ln + "|" for ln in body] + [border] + text
        if size is not None and (len(body) + 2 > height or len(border) > usable):
            # Even the smallest drawing does not fit: say so first, where it is seen.
            need = (len(border) + 1, len(frame))
            frame.insert(0, "Window too small: the fob needs %dx%d characters." % need)
        if size is not None:
            # Even the smallest drawing may not fit a tiny window: cut, never wrap.
            frame = [ln[:usable] for ln in frame[:height]]
        return frame

    def draw(self, force=False):
        size = self.size()
        frame = self.frame(size)
        resized = size != self._last_size
        if frame == self._last and not force and not resized:
            return
        self._last = frame
        self._last_size = size
        clear = "\x1b[2J" if resized else ""
        self.out.write(clear + "\x1b[H" + "\r\n".join(ln + "\x1b[K" for ln in frame) + "\x1b[J")
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
