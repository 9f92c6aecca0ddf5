# The fob's screens, a state machine fed with button events and the clock. Each update
# redraws the current screen into the frame buffer; Display.flush() then sends the panel
# only what changed, so redrawing everything costs CPU but not bus time.

import math
import time

from fob import font

CODE = "code"
LIST = "list"
MENU = "menu"
CONFIRM = "confirm"
CLOCK_NOT_SET = "clock_not_set"
CLOCK_FAULT = "clock_fault"  # the RTC does not answer on the bus
EMPTY = "empty"
OFF = "off"
PRESENCE = "presence"  # a host's request waits for a yes or no on the fob
NOTICE = "notice"  # something the holder must see (the fob wiped itself), until a press

REVEAL_SECONDS = 20  # a revealed code hides again after this (privacy mode)
MODAL_SECONDS = 15  # an untouched menu or confirmation cancels itself after this

WARN_SECONDS = 5  # the last seconds of a period: ring marked, next code shown
HOTP_SECONDS = 60  # an HOTP code, once asked for, stays on the screen this long
SCROLL_STEP = 3  # pixels a long label moves per scroll tick
SCROLL_TICK = 0.2
SCROLL_PAUSE = 1.5  # rest at either end of a long label
IDLE_CHOICES = (15, 30, 60, 120, 300)

_REASONS = {"power_lost": "RTC lost power", "before_build": "RTC date too old"}


def group(code):
    """The code as drawn: "123 456", "123 4567", "1234 5678"; shorter codes ungrouped."""
    n = len(code)
    if n == 6 or n == 7:
        return code[:3] + " " + code[3:]
    if n == 8:
        return code[:4] + " " + code[4:]
    return code


def hidden(digits):
    """Bullets in place of a code of ``digits`` characters, grouped like the code."""
    return group("*" * digits)


def ring_lit(n_pixels, seconds_left, period):
    """How many of the ring's pixels stay lit with ``seconds_left`` of ``period`` to go."""
    if seconds_left <= 0:
        return 0
    if seconds_left >= period:
        return n_pixels
    return (n_pixels * seconds_left + period // 2) // period


class Layout:
    """Positions for a 128x64 or 128x32 panel (pages are 8 px rows); ``tall``: for a label
    two pages high (a strip, fob/labels.py), which on a 32 px panel leaves the code two
    pages (fob/labels.py's medium digits)."""

    def __init__(self, width, height, tall=False):
        self.width = width
        self.height = height
        self.pages = height // 8
        self.medium = tall and height < 64
        if height >= 64:
            self.label_page = 0
            self.code_page = 2
            self.cx, self.cy, self.r = width - 15, 29 if tall else 28, 13
            self.num_page = 3
            self.next_page = 7
            self.index_page = 7
        else:
            self.label_page = 0
            self.code_page = 2 if tall else 1
            self.cx, self.cy, self.r = width - 12, 20, 11
            self.num_page = 2
            self.next_page = 0
            self.index_page = 0
        self.ring_x0 = self.cx - self.r
        self.code_x1 = self.ring_x0 - 2  # the code is centred left of the ring
        xs, ys = ring_pixels(self.cx, self.cy, self.r, 2)
        self.ring_x = xs
        self.ring_y = ys
        self.ring_n = len(xs)


def ring_pixels(cx, cy, r, thickness):
    """Pixels of a ring, ordered clockwise from 12 o'clock, as two bytearrays (x, y)."""
    inner = (r - thickness) * (r - thickness) + (r - thickness)
    outer = r * r + r  # a little over r*r rounds the outline like a drawn circle
    n = 0
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if inner < dx * dx + dy * dy <= outer:
                n += 1
    # Each pixel as one small int (angle, x, y), sorted: a list of (angle, x, y) tuples
    # would need several KB of heap at boot, when the vault and drivers already fill it.
    # Angle steps of 1/4000 rad keep the packed value under 2**30 (no big ints on a board).
    pts = [0] * n
    n = 0
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if inner < dx * dx + dy * dy <= outer:
                a = math.atan2(dx, -dy)
                if a < 0:
                    a += 2 * math.pi
                pts[n] = (int(a * 4000) << 14) | ((cx + dx) << 7) | (cy + dy)
                n += 1
    pts.sort()
    xs = bytearray(n)
    ys = bytearray(n)
    for i in range(n):
        p = pts[i]
        xs[i] = (p >> 7) & 0x7F
        ys[i] = p & 0x7F
    return xs, ys


def account_label(acc):
    if acc.issuer and acc.name:
        return acc.issuer + ":" + acc.name
    return acc.issuer or acc.name or "?"


def drawn(acc):
    """A label as the small font draws it: issuer, the bar (font.SEP), name; a label with
    no issuer is its name alone, so issuer "a" and name "a" differ."""
    name = font.edges(acc.name)
    return font.edges(acc.issuer) + chr(font.SEP) + name if acc.issuer else name


def strips(vault, acc):
    """The account's label strips (fob/labels.py), or None: then draw drawn(acc)."""
    if font.plain(acc.issuer) and font.plain(acc.name):
        return None
    from fob import labels

    return labels.pair(vault, acc)


class UI:
    def __init__(self, display, vault, clock, settings, button_names=("A", "B", "C"),
                 otp_module=None, monotonic=None, buttons=None):
        if otp_module is None:
            from fob import otp as otp_module
        self.otp = otp_module
        self.d = display
        self.vault = vault
        self.clock = clock
        self.settings = settings
        self.names = tuple(button_names)
        self.nb = len(self.names)
        self._mono = monotonic or time.monotonic
        self.layout = Layout(display.width, display.height)
        # The layout under a label with strips, made when one is first shown.
        self.tall = None
        self.nav = CODE  # the screen shown when the clock is set and accounts exist
        self.screen = CODE
        self.index = 0
        self.cursor = 0
        self.menu_items = ()
        self.menu_cursor = 0
        # The question on the screen (fob/question.py: a host's request waiting for a
        # press, or the holder's own delete), and the holder's answer to a host's (None
        # until given); a notice shown until the next press.
        self.q = None
        self.answer = None
        self.notice = None
        # The buttons (fob/buttons.py): when a press began, whether A is held.
        self.buttons = buttons
        self.revealed = -1
        self.reveal_until = 0.0
        self.powered = True
        t = self._mono()
        self.last_input = t
        self.modal_since = t
        self._gen = None
        self._count = 0
        # The current entry's label and code cache, refreshed on navigation or vault change.
        self._label = ""
        self._text = ""
        self._strips = None
        self._acc = None
        self._label_w = 0
        self._index_text = ""
        self._key = None
        self._key_for = -1
        self._counter = None
        self._code = None
        self._code_drawn = None
        self._next = None
        self._next_counter = None
        self._next_drawn = ""
        # An HOTP entry's code the holder asked for: (code as drawn, counter, until), or
        # None.
        self._hotp = None
        self._scroll = 0
        self._scroll_at = t
        self._dirty = True
        self._drawn_epoch = None
        self.codes_computed = 0
        self.draws = 0
        # Drawn over the code screen (fob/power.py's battery gauge): overlay(display,
        # layout, right edge, t), and the label-row columns it takes.
        self.overlay = None
        self.overlay_room = 0
        # Last values shown, for status().
        self.shown_code = None
        self.seconds_left = None

    # Inputs.

    def _accounts(self):
        return self.vault.accounts

    def _sync_vault(self):
        gen = self.vault.generation
        if gen == self._gen:
            return
        self._gen = gen
        self._count = len(self._accounts())
        if self._count == 0:
            self.index = 0
        elif self.index >= self._count:
            self.index = self._count - 1
        if self.cursor >= self._count:
            self.cursor = max(0, self._count - 1)
        if self.nav in (MENU, CONFIRM):
            self.nav = CODE
        if self.q is not None and self.q.local >= 0:
            # The entries moved under the holder's own question: it may no longer be
            # about the entry it names.
            self.cancel()
        self.revealed = -1
        self._select(self.index)

    def _select(self, i):
        self.index = i
        self._hotp = None
        self._key = None
        self._key_for = -1
        self._counter = None
        self._code = None
        self._next = None
        self._next_counter = None
        self._scroll = 0
        self._scroll_at = self._mono() + SCROLL_PAUSE
        if self._count:
            # Kept while shown: each read of vault.accounts makes a new Account.
            acc = self._acc = self._accounts()[i]
            self._label = account_label(acc)
            self._text = drawn(acc)
            st = self._strips = strips(self.vault, acc)
            if st is None:
                self._label_w = font.text_width(self._text)
            else:
                from fob import labels

                self._label_w = labels.width(acc.issuer, acc.name, st)
            self._index_text = "%d/%d" % (i + 1, self._count)
        else:
            self._acc = None
            self._label = ""
            self._text = ""
            self._strips = None
            self._label_w = 0
            self._index_text = ""
        self._dirty = True

    def _actions(self, name, kind):
        """Map a button event to an action for the current screen."""
        nb = self.nb
        nav = self.nav
        if nav == CODE:
            if kind == "long":
                # Typing on: a long A types the code; the menu moves to B (and C), and
                # one-button fobs type from the menu's first item.
                if self.settings.typing and nb > 1:
                    if name == "A":
                        return "type"
                    return "menu"
                if nb == 2 and name == "B":
                    return "list"
                return "menu"
            if name == "A":
                return "next"
            if name == "B":
                return "prev"
            return "select"
        # List and menu: A/B move, C or any long press chooses.
        if kind == "long" or name == "C":
            return "choose"
        if name == "A":
            return "next"
        return "prev"

    def handle(self, name, kind):
        """One button event; returns True when the screen may have changed."""
        t = self._mono()
        self.last_input = t
        if not self.powered:
            # The first press only wakes the display.
            self._wake()
            return True
        if self.q is not None:
            if self.q.event(self.buttons, name, kind) is None:
                return False
            self._answered(False)
            return True
        if self.notice is not None:
            self.notice = None
            self._dirty = True
            return True
        self._sync_vault()
        if self.screen in (CLOCK_NOT_SET, CLOCK_FAULT, EMPTY):
            return False
        action = self._actions(name, kind)
        self._dirty = True
        self.modal_since = t
        nav = self.nav
        count = self._count
        if nav == CODE:
            if action == "next":
                self._select((self.index + 1) % count)
            elif action == "prev":
                self._select((self.index - 1) % count)
            elif action == "menu":
                self._open_menu()
            elif action == "type":
                self._choose("Type code", t)
            elif action == "list":
                self.cursor = self.index
                self.nav = LIST
            elif action == "select" and self._acc.hotp:
                self._next_hotp(t)
            elif action == "select":
                if self._is_hidden(t):
                    self._reveal(t)
                else:
                    self.cursor = self.index
                    self.nav = LIST
        elif nav == LIST:
            if action == "next":
                self.cursor = (self.cursor + 1) % count
            elif action == "prev":
                self.cursor = (self.cursor - 1) % count
            else:
                self._select(self.cursor)
                self._reveal(t)
                self.nav = CODE
        elif nav == MENU:
            n = len(self.menu_items)
            if action == "next":
                self.menu_cursor = (self.menu_cursor + 1) % n
            elif action == "prev":
                self.menu_cursor = (self.menu_cursor - 1) % n
            else:
                self._choose(self.menu_items[self.menu_cursor], t)
        return True

    # Presence: fob/protocol.py asks before it changes anything a host requested.

    def redraw(self):
        """Draw the whole screen again at the next update (the panel lost what it showed)."""
        self._dirty = True

    @property
    def prompt(self):
        return self.q.text if self.q is not None else None

    def ask(self, prompt, local=-1):
        """Puts a question on the screen (a host's; the holder's own delete: `local`, the
        entry it is about). A host's takes the screen from the holder's."""
        from fob.question import Question

        self.q = Question(prompt, local)
        self.q.vault = self.vault
        self.answer = None
        self._wake()
        self.last_input = self._mono()

    def cancel(self):
        self.q = None
        if self.nav == CONFIRM:
            self.nav = CODE
        self._dirty = True

    @property
    def busy(self):
        """True while a host's change is written a step a pass (it must not sleep)."""
        return self.vault.busy

    def notify(self, text):
        self.notice = text
        self._wake()
        self.last_input = self._mono()

    def _answered(self, yes):
        q = self.q
        self.q = None
        self._dirty = True
        if q.local < 0:
            self.answer = yes
            return
        self.nav = CODE
        if yes and self.busy:
            self.notify("Busy: saving a change")
        elif yes:
            # The holder's own delete, confirmed: a flash error is said, not left to the
            # loop.
            try:
                gone = self.vault.delete(q.local)
                if strips(self.vault, gone) is not None:
                    # Its label strips go unless another account has the same text.
                    from fob import label_store

                    label_store.drop(self.vault, label_store.keys_of((gone,)))
            except Exception:
                self.notify("Delete failed: flash error")
            self._gen = None
            self._sync_vault()

    def question_ready(self):
        """True once a hold of A would be counted (the sim's autopress waits for it)."""
        return self.q is not None and self.q.ready(self._mono())

    def _open_menu(self):
        items = []
        if self._acc is not None and self._acc.hotp:
            items.append("Next code")
        if self.settings.typing:
            items.append("Type code")
        if self._is_hidden(self._mono()):
            items.append("Show code")
        items.append("Delete")
        items.append("Privacy: " + ("on" if self.settings.privacy else "off"))
        items.append("Blank after %ds" % self.settings.idle_timeout)
        items.append("List")
        items.append("Cancel")
        self.menu_items = tuple(items)
        self.menu_cursor = 0
        self.nav = MENU

    def _choose(self, item, t):
        self.nav = CODE
        if item == "Next code":
            self._next_hotp(t)
        elif item == "Show code":
            self._reveal(t)
        elif item == "Delete":
            self.ask("Delete #%d?\nIssuer: %s\nName: %s" % (self.index + 1, self._acc.issuer,
                                                          self._acc.name), self.index)
            self.nav = CONFIRM
        elif item.startswith("Privacy"):
            self.settings.set_privacy(not self.settings.privacy)
            self.revealed = -1
        elif item.startswith("Blank"):
            cur = self.settings.idle_timeout
            nxt = IDLE_CHOICES[0]
            for c in IDLE_CHOICES:
                if c > cur:
                    nxt = c
                    break
            self.settings.set_idle_timeout(nxt)
        elif item == "List":
            self.cursor = self.index
            self.nav = LIST
        elif item == "Type code":
            # Loaded for this one typing and dropped by it, with adafruit_hid. It gives up
            # at once without a USB host, and says why with notify().
            try:
                from fob import hidtype

                hidtype.type_from(self)
            except Exception:  # MemoryError on a full heap: never take the loop down
                self.notify("Typing failed")

    def _reveal(self, t):
        self.revealed = self.index
        self.reveal_until = t + REVEAL_SECONDS

    def _is_hidden(self, t):
        if not self.settings.privacy:
            return False
        return not (self.revealed == self.index and t < self.reveal_until)

    def _wake(self):
        self.powered = True
        self.d.power(True)
        self._dirty = True

    # Time.

    def _next_hotp(self, t):
        """An HOTP entry's next code: its counter is saved moved on first, so no code is
        ever shown twice, even across a power cut."""
        acc = self._acc
        if self.busy:
            # A host's change is being written; the counters with it.
            self.notify("Busy: saving a change")
            return
        try:
            c = self.vault.counters().take(acc)
        except OSError:
            self.notify("Flash error: no code")
            return
        code = self.otp.hotp(acc.secret, c, acc.digits, acc.algorithm)
        self._hotp = (group(code), c, t + HOTP_SECONDS, code)

    def current_code(self, epoch):
        """The code of the entry on screen for this very second, or None without one
        (fob/hidtype.py types it)."""
        acc = self._acc
        if acc is not None and acc.hotp:
            return self._hotp[3] if self._hotp is not None else None
        if epoch is None or acc is None:
            return None
        self._code_for(epoch, acc.period if acc.period > 0 else 30)
        return self._code

    def _code_for(self, epoch, period):
        """The current and (in the last seconds) next code, computed once per counter."""
        acc = self._acc
        counter = epoch // period
        if self._key_for != self.index or self._key is None:
            self._key = self.otp.Key(acc.secret, acc.algorithm)
            self._key_for = self.index
        if counter != self._counter:
            if self._next_counter == counter and self._next is not None:
                self._code = self._next
            else:
                self._code = self.otp.totp(self._key, counter * period, acc.digits, period)
                self.codes_computed += 1
            self._code_drawn = group(self._code)
            self._counter = counter
        left = period - epoch % period
        if left <= WARN_SECONDS and self._next_counter != counter + 1:
            nxt = self.otp.totp(self._key, (counter + 1) * period, acc.digits, period)
            self.codes_computed += 1
            self._next = nxt
            self._next_counter = counter + 1
            self._next_drawn = "next " + group(nxt)
        return left

    def update(self):
        """Advance timers, pick the screen, and redraw when anything visible changed.
        Returns True when the frame buffer was redrawn."""
        t = self._mono()
        self._sync_vault()
        if self.q is not None or self.notice is not None:
            # Held on screen while waiting: the blanking timer starts after the answer.
            self.last_input = t
        if self.powered and t - self.last_input >= self.settings.idle_timeout:
            self.powered = False
            self.d.power(False)
        if not self.powered:
            self.screen = OFF
            return False
        epoch = self.clock.now()
        q = self.q
        if q is not None:
            if q.local >= 0 and t - self.modal_since >= MODAL_SECONDS:
                self.cancel()
            else:
                held = q.hold(self.buttons, t)
                if held is not None:
                    self._answered(held)
                elif q.fill_from is not None:
                    self._dirty = True
        q = self.q
        if q is not None:
            screen = CONFIRM if q.local >= 0 else PRESENCE
        elif self.notice is not None:
            screen = NOTICE
        elif epoch is None:
            screen = CLOCK_FAULT if self.clock.reason == "no_answer" else CLOCK_NOT_SET
            self.nav = CODE
        elif self._count == 0:
            screen = EMPTY
            self.nav = CODE
        else:
            screen = self.nav
            if screen == MENU and t - self.modal_since >= MODAL_SECONDS:
                self.nav = screen = CODE
                self._dirty = True
        if screen != self.screen:
            self.screen = screen
            self._dirty = True
        if screen == CODE and self._label_w > self.d.width - self._label_room():
            if t >= self._scroll_at:
                self._step_scroll(t)
        elif q is not None and q.due(t):
            q.turn(self.d, t)
            self._dirty = True
        if self.revealed >= 0 and t >= self.reveal_until:
            self.revealed = -1
            self._dirty = True
        # Only the code screen changes with the second.
        if not self._dirty and (epoch == self._drawn_epoch or screen != CODE):
            return False
        self._drawn_epoch = epoch
        self._dirty = False
        self.draw(epoch, t)
        return True

    def _label_room(self):
        # Columns of the label row taken by other things (the index on a 32 px panel).
        if self.layout.label_page == self.layout.index_page:
            return font.text_width(self._index_text) + 3 + self.overlay_room
        return self.overlay_room

    def _step_scroll(self, t):
        room = self.d.width - self._label_room()
        end = self._label_w - room
        if self._scroll >= end:
            self._scroll = 0
            self._scroll_at = t + SCROLL_PAUSE
        else:
            self._scroll += SCROLL_STEP
            if self._scroll >= end:
                self._scroll = end
                self._scroll_at = t + SCROLL_PAUSE
            else:
                self._scroll_at = t + SCROLL_TICK
        self._dirty = True

    # Drawing.

    def draw(self, epoch, t):
        self.draws += 1
        d = self.d
        d.clear()
        self.shown_code = None
        self.seconds_left = None
        s = self.screen
        if s == CODE:
            self._draw_code(epoch, t)
            if self.overlay is not None:
                self.overlay(self.d, self.layout, self.d.width - self._label_room()
                             + self.overlay_room, t)
        elif s == LIST:
            self._draw_list()
        elif s == MENU:
            self._draw_menu()
        elif s == PRESENCE or s == CONFIRM:
            self.q.draw(self.d, t, self.nb == 1)
        elif s == NOTICE:
            self._draw_notice(self.notice)
        elif s == CLOCK_NOT_SET:
            self._draw_lines(("Clock not set", _REASONS.get(self.clock.reason, self.clock.reason),
                              "Set it from a host:", "otpfob time set"))
        elif s == CLOCK_FAULT:
            self._draw_lines(("Clock not answering", "check the RTC wiring",
                              "No codes until then"))
        elif s == EMPTY:
            self._draw_lines(("No accounts", "Add one from a host:", "otpfob add"))

    def _draw_lines(self, lines):
        d = self.d
        page = 0
        step = 2 if d.pages >= 8 and len(lines) <= 4 else 1
        for line in lines:
            if page >= d.pages:
                break
            d.text(line, 0, page)
            page += step

    def _draw_hotp(self, t):
        # A counter-based entry: no ring and no code until the holder asks for the next
        # one (C, or the menu's "Next code"); then the code and its counter.
        d = self.d
        lay = self.layout
        d.text(self._label, -self._scroll, lay.label_page, 0, d.width - self._label_room())
        h = self._hotp
        if h is not None and t >= h[2]:
            h = self._hotp = None
        text = h[0] if h is not None else hidden(self._acc.digits).replace("*", "-")
        x = (d.width - font.big_width(text)) // 2
        d.big(text, x if x > 0 else 0, lay.code_page)
        if h is not None:
            self.shown_code = h[3]
            hint = "HOTP #%d" % h[1]
        else:
            hint = ("C" if self.nb == 3 else "menu") + ": next code"
        if lay.next_page != lay.label_page:
            d.text(hint, 0, lay.next_page)

    def _draw_code(self, epoch, t):
        if self._acc.hotp:
            self._draw_hotp(t)
            return
        d = self.d
        st = self._strips
        lay = self.layout
        if st is not None:
            if self.tall is None:
                self.tall = Layout(d.width, d.height, True)
            lay = self.tall
        acc = self._acc
        period = acc.period if acc.period > 0 else 30
        left = self._code_for(epoch, period)
        self.seconds_left = left
        warn = left <= WARN_SECONDS
        # Label row (on a short panel the next code takes it over in the last seconds).
        room_end = d.width - self._label_room()
        if lay.next_page == lay.label_page and warn:
            d.text(self._next_drawn, 0, lay.label_page, 0, room_end)
        elif st is not None:
            from fob import labels

            labels.draw(d, acc.issuer, acc.name, st, -self._scroll, lay.label_page, 0,
                        room_end)
        else:
            d.text(self._text, -self._scroll, lay.label_page, 0, room_end)
        if self._index_text:
            d.text(self._index_text, d.width - font.text_width(self._index_text),
                   lay.index_page)
        # The code, or bullets while privacy hides it.
        if self._is_hidden(t):
            text = hidden(len(self._code))
        else:
            text = self._code_drawn
            self.shown_code = self._code
        if lay.medium:
            from fob import labels

            x = (lay.code_x1 - labels.medium_width(text)) // 2
            labels.medium(d, text, x if x > 0 else 0, lay.code_page)
        else:
            x = (lay.code_x1 - font.big_width(text)) // 2
            d.big(text, x if x > 0 else 0, lay.code_page)
        if warn and lay.next_page != lay.label_page and self.shown_code is not None:
            d.text(self._next_drawn, 0, lay.next_page)
        # Countdown ring, dashed in the last seconds, with the seconds left inside.
        n = lay.ring_n
        lit_from = n - ring_lit(n, left, period)
        xs = lay.ring_x
        ys = lay.ring_y
        for i in range(lit_from, n):
            if warn and (i >> 1) & 1:
                continue
            d.pixel(xs[i], ys[i])
        digits = 2 if left >= 10 else 1
        d.number(left, lay.cx + 1 - digits * 3, lay.num_page)

    def _rows(self, first_page):
        return self.d.pages - first_page

    def _draw_rows(self, items, cursor, first_page, label_of):
        d = self.d
        rows = self._rows(first_page)
        top = 0
        if cursor >= rows:
            top = cursor - rows + 1
        for r in range(rows):
            i = top + r
            if i >= len(items):
                break
            page = first_page + r
            d.text(label_of(items[i]), 2, page)
            if i == cursor:
                d.invert_area(0, page, d.width, page + 1)

    def _draw_list(self):
        accs = self._accounts()
        rows = self._rows(0)
        top = self.cursor - rows + 1 if self.cursor >= rows else 0
        for i in range(top, min(top + rows, len(accs))):
            a = accs[i]
            if not (font.plain(a.issuer) and font.plain(a.name)):
                # Rows two pages high for labels with strips (fob/labels.py).
                from fob import labels

                labels.draw_list(self.d, self.vault, accs, self.cursor, drawn)
                return
        self._draw_rows(accs, self.cursor, 0, drawn)

    def _draw_menu(self):
        d = self.d
        first = 0
        if d.pages >= 8:
            acc = self._acc
            st = self._strips
            if st is None:
                d.text("Menu: " + self._text, 0, 0)
                first = 1
            else:
                from fob import labels

                labels.draw(d, acc.issuer, acc.name, st, d.text("Menu: ", 0, 1), 0, 0,
                            d.width)
                first = 2
        self._draw_rows(self.menu_items, self.menu_cursor, first, _same)

    def _draw_notice(self, text):
        from fob.question import wrap

        d = self.d
        rows = d.pages - 1
        lines = wrap(text, d.width // font.CELL_W, rows)
        for i in range(min(len(lines), rows)):
            d.text(lines[i], 0, i)
        d.text("press a button", 0, d.pages - 1)

    # Sleep (fob/power.py).

    def wake_from_sleep(self):
        """The panel back on, the entry shown before (hidden again under privacy)."""
        self.revealed = -1
        self.last_input = self._mono()
        self._wake()

    def restore(self, index, count):
        """The entry shown before a deep sleep, if the vault still has as many entries."""
        self._sync_vault()
        if count == self._count and 0 <= index < count:
            self._select(index)

    def shown(self):
        self._sync_vault()
        return self.index, self._count

    # For the simulator and tests.

    def status(self):
        code_screen = self.screen == CODE
        return {
            "screen": self.screen,
            "label": self._label if self._count and self.screen != OFF else None,
            "code": self.shown_code if code_screen else None,
            "seconds_left": self.seconds_left if code_screen else None,
            "index": self.index if self._count and self.screen != OFF else None,
            "count": self._count,
            "prompt": self.prompt if self.screen in (PRESENCE, CONFIRM) else (
                self.notice if self.screen == NOTICE else None),
            "prompt_ready": self.question_ready(),
        }


def _same(x):
    return x
