# A question to the person holding the fob (a host's request, or the holder's own delete)
# and the gesture that answers it. Loaded by fob/ui.py when the first question comes: the
# code screen never needs it.
#
# A yes is A held for HOLD_SECONDS with a bar filling, a gesture navigation never makes; a
# press that begins in the first GUARD_SECONDS counts for nothing (a tap meant for the
# entries the question came over is no answer), and a hold counts only once the whole
# question has been on the screen: PAGE_SECONDS a page, long rows scrolled to their end.
# Any other press, and A let go before the bar is full, is a no.
#
# The title wraps; every other row is one field (an issuer, a name, a check value) and
# scrolls sideways when it is long, so what a name says never lands on a row of its own.
# An issuer or name the small font cannot draw is drawn from its label strip (fob/labels.py)
# after the field's name, in a row two pages high: the stored strip, or for an account
# not yet stored (an add, a rename's new name) the one that came with the request.
import sys

from fob import font

# Rows of an account's fields: what follows is an issuer or a name.
FIELDS = ("Issuer: ", "Name: ", "New Issuer: ", "New Name: ")
HOLD_SECONDS = 1.5
GUARD_SECONDS = 1.0
PAGE_SECONDS = 2.0
SCROLL_STEP = 3  # pixels a long row moves per tick (more for a row so long that a
SCROLL_TICKS = 60  # scroll would take more than this many ticks: a question lasts 30 s)
SCROLL_TICK = 0.2
SCROLL_PAUSE = 1.5  # rest at either end of a long row


class Question:
    def __init__(self, text, local=-1):
        self.text = text
        # The entry the holder's own question is about (-1: a host's question).
        self.local = local
        # When it was first drawn (None: not yet), its rows, the first row shown, when the
        # page moves on, the scroll of the page's long rows and how far they go, when the
        # whole question had been shown, and when the fill of a hold began.
        self.asked_at = None
        self.rows = None
        self.top = 0
        self.until = 0.0
        self.shift = 0
        self.over = 0
        self.step = SCROLL_STEP
        self.seen_at = None
        self.fill_from = None
        # The vault the label strips are kept beside (fob/ui.py sets it), and the strips
        # of the fields shown, read once: {text: strip or None}. A host's question about
        # an account not yet stored brings its own (fob/labels.py's `held`).
        self.vault = None
        self.strips = {}
        self.head = 1
        lab = sys.modules.get("fob.labels")
        if lab is not None and lab.held is not None and lab.held[0] is text:
            self.strips = dict(lab.held[1])
            lab.held = None

    def counts(self, buttons, name):
        return self.asked_at is not None and buttons is not None and \
            buttons.began(name) > self.asked_at + GUARD_SECONDS

    def event(self, buttons, name, kind):
        """A button event: None (no answer) or False (a no). A yes comes from hold()."""
        if not self.counts(buttons, name) or (kind == "long" and name == "A"):
            return None  # too early, or a hold: hold() fills the bar
        return False

    def hold(self, buttons, t):
        """Once a pass: True when A has been held until the bar is full, False when it was
        let go before, None while undecided (and True when a redraw is due)."""
        if not self.counts(buttons, "A"):
            return None
        if buttons.down("A"):
            if self.seen_at is None:
                return None
            start = buttons.began("A")
            if start < self.seen_at:
                start = self.seen_at
            self.fill_from = start
            return t - start >= HOLD_SECONDS or None
        if self.fill_from is not None:
            return False
        return None

    def ready(self, t):
        return self.seen_at is not None and self.asked_at is not None and \
            t > self.asked_at + GUARD_SECONDS

    def due(self, t):
        return self.rows is not None and t >= self.until

    def _field(self, i):
        # (field name, text, strip) of row i when it is drawn from a strip, else None.
        if i < self.head:
            return None
        row = self.rows[i]
        for f in FIELDS:
            if row.startswith(f):
                text = row[len(f):]
                if font.plain(text):
                    return None
                if text not in self.strips:
                    from fob import labels

                    self.strips[text] = labels.load(self.vault, text) if self.vault else None
                strip = self.strips[text]
                return None if strip is None else (f, text, strip)
        return None

    def _height(self, i):
        return 1 if self._field(i) is None else 2

    def _width(self, i):
        f = self._field(i)
        if f is None:
            return font.text_width(self.rows[i])
        return font.text_width(f[0]) + 1 + (len(f[2]) >> 1)

    def _end(self, d):
        # The row after the last one that fits on the page starting at `top`.
        i = self.top
        h = 0
        while i < len(self.rows):
            h += self._height(i)
            if h > d.pages - 1 and i > self.top:
                break
            i += 1
        return i

    def draw(self, d, t, one_button):
        room = d.pages - 1
        if self.rows is None:
            lines = self.text.split("\n")
            self.rows = wrap(lines[0], d.width // font.CELL_W, room)
            self.head = len(self.rows)
            for line in lines[1:]:
                for f in FIELDS:
                    if line.startswith(f):
                        if font.plain(line[len(f):]):
                            line = f + font.edges(line[len(f):])
                        break
                self.rows.append(line)
            self.asked_at = t
            self._page(d, t)
        rows = self.rows
        r = 0
        for i in range(self.top, self._end(d)):
            over = self._width(i) - d.width
            x = -min(self.shift, over) if over > 0 else 0
            f = self._field(i)
            if f is None:
                d.text(rows[i], x, r)
                r += 1
            else:
                from fob import labels

                labels.field(d, f[1], f[2], d.text(f[0], x, r + 1), r, 0, d.width)
                r += 2
        page = d.pages - 1
        if self.fill_from is not None:
            n = int(d.width * (t - self.fill_from) / HOLD_SECONDS)
            d.text("keep holding A", 0, page)
            d.invert_area(0, page, n if n < d.width else d.width, page + 1)
        elif self.seen_at is None:
            d.text("reading...", 0, page)
        else:
            d.text("hold=yes  tap=no" if one_button else "hold A=yes  B=no", 0, page)

    def _page(self, d, t):
        # How long the page from `top` stays: PAGE_SECONDS, or the scroll of its longest row.
        over = 0
        end = self._end(d)
        for i in range(self.top, end):
            w = self._width(i) - d.width
            if w > over:
                over = w
        self.shift = 0
        self.over = over
        self.step = max(SCROLL_STEP, (over + SCROLL_TICKS - 1) // SCROLL_TICKS)
        self.until = t + (SCROLL_PAUSE if over else PAGE_SECONDS)
        if self.seen_at is None and not over and self.top == 0 and end == len(self.rows):
            self.seen_at = t  # all of it on the screen at once

    def turn(self, d, t):
        """The next scroll step or page; after the last page a hold counts."""
        if self.shift < self.over:
            self.shift += self.step
            self.until = t + (SCROLL_TICK if self.shift < self.over else SCROLL_PAUSE)
            return
        self.top = self._end(d)
        if self.top >= len(self.rows):
            self.top = 0
            if self.seen_at is None:
                self.seen_at = t
        self._page(d, t)


def wrap(text, width, rows):
    """Lines of at most `width` characters, broken between words (a word longer than a
    line starts where the last one ended), or cut every `width` characters when words
    would need more than `rows` lines."""
    lines = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) <= width:
            line += " " + word
            continue
        if line and len(word) > width and len(line) + 1 < width:
            room = width - len(line) - 1
            line += " " + word[:room]
            word = word[room:]
        if line:
            lines.append(line)
        while len(word) > width:
            lines.append(word[:width])
            word = word[width:]
        line = word
    if line:
        lines.append(line)
    if len(lines) <= rows:
        return lines
    return [text[i:i + width] for i in range(0, len(text), width)]
