"""The screens as a state machine, drawn into a real Display over the SSD1306 model, with
the codes read back from the pixels using the firmware's own glyph tables."""

import hashlib
import hmac
import struct

import driver_shims  # noqa: E402
import pytest

driver_shims.install()

from fakes import FakeClock, HeldButtons  # noqa: E402

from fob import font, question, ui  # noqa: E402
from fob.display import Display  # noqa: E402
from fob.settings import Settings  # noqa: E402
from fob.vault import Account, Vault  # noqa: E402
from otpfob.sim.i2c import I2C, Bus  # noqa: E402
from otpfob.sim.ssd1306 import SSD1306  # noqa: E402

T0 = 1800000000 - 1800000000 % 30  # the start of a period


def rfc6238(secret, t, digits=6, period=30, alg="sha1"):
    mac = hmac.new(secret, struct.pack(">Q", t // period), getattr(hashlib, alg)).digest()
    o = mac[-1] & 15
    v = struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF
    return str(v % 10**digits).zfill(digits)


class FakeOtp:
    """Counts the codes the UI asks for: they must be computed once per period (the
    real engine is checked against pyotp in the simulator tests)."""

    def __init__(self):
        self.calls = 0

    class Key:
        def __init__(self, secret, algorithm):
            self.secret = bytes(secret)
            self.algorithm = algorithm

    def totp(self, key, t, digits=6, period=30, algorithm=None):
        self.calls += 1
        return rfc6238(key.secret, t, digits, period, key.algorithm.lower())

    def hotp(self, secret, counter, digits=6, algorithm="SHA1"):
        self.calls += 1
        # RFC 6238's construction at time counter * 30 is RFC 4226's at that counter.
        return rfc6238(bytes(secret), counter * 30, digits, 30, algorithm.lower())


def decode_big(frame, width, page):
    """Read the big-font characters drawn with their top on ``page`` (gaps become spaces)."""
    glyphs = {}
    n = font.BIG_W * font.BIG_PAGES
    for ch in font.BIG_CHARS:
        o = font.big_offset(ch)
        glyphs[bytes(font.BIG[o : o + n])] = ch
    out = ""
    x = 0
    last_end = None
    while x <= width - font.BIG_W:
        cell = bytes(
            frame[(page + p) * width + x + c]
            for p in range(font.BIG_PAGES)
            for c in range(font.BIG_W)
        )
        ch = glyphs.get(cell)
        if ch is not None and cell.strip(b"\0"):
            if last_end is not None and x - last_end > font.BIG_ADVANCE - font.BIG_W:
                out += " "
            out += ch
            last_end = x + font.BIG_W
            x += font.BIG_W
        else:
            x += 1
    return out


SECRETS = [b"12345678901234567890", b"another secret key!!", b"\x01\x02\x03\x04\x05" * 4]


class Rig:
    def __init__(
        self, tmp_path, accounts=3, height=64, buttons=("A", "B", "C"), privacy=False, digits=6
    ):
        bus = Bus()
        self.model = bus.attach(0x3C, SSD1306(128, height))
        self.display = Display(I2C(bus), 128, height)
        self.vault = Vault(str(tmp_path))
        self.vault.load()
        for i in range(accounts):
            self.vault.add(
                Account(
                    "user%d@example.com" % i,
                    "Issuer%d" % i,
                    SECRETS[i % len(SECRETS)],
                    digits=digits,
                )
            )
        self.settings = Settings(str(tmp_path))
        self.settings.privacy = privacy
        self.clock = FakeClock(T0 + 3)
        self.t = [1000.0]
        self.otp = FakeOtp()
        self.buttons = HeldButtons(lambda: self.t[0], buttons)
        self.ui = ui.UI(
            self.display,
            self.vault,
            self.clock,
            self.settings,
            buttons,
            otp_module=self.otp,
            monotonic=lambda: self.t[0],
            buttons=self.buttons,
        )
        self.tick()

    def tick(self, seconds=0.0, dt=0.25):
        end = self.t[0] + seconds
        while True:
            step = min(dt, end - self.t[0])
            self.t[0] += step
            self.clock.t = T0 + 3 + int(self.t[0] - 1000.0)
            if self.ui.update():
                self.display.flush()
            if self.t[0] >= end - 1e-9:
                return

    def press(self, name, kind="short"):
        """A press that has ended (short) or reached a long press, as Buttons reports."""
        self.buttons.press(name)
        if kind == "short":
            self.buttons.release(name)
        self.ui.handle(name, kind)
        if kind == "long":
            self.buttons.release(name)
        self.tick()

    def hold(self, name, seconds):
        """A held for `seconds` (the long event comes at 0.8 s, as Buttons gives it), then
        let go."""
        self.buttons.press(name)
        long_at = self.t[0] + 0.8
        end = self.t[0] + seconds
        while self.t[0] < end - 1e-9:
            if self.t[0] >= long_at and long_at:
                long_at = 0
                self.ui.handle(name, "long")
            self.tick(min(0.05, end - self.t[0]), dt=0.05)
        self.buttons.release(name)
        if seconds < 0.8:
            self.ui.handle(name, "short")
        self.tick()

    def until_ready(self, limit=60):
        """Waits (fob time) until a hold would count: the guard is over and the whole
        question has been shown."""
        end = self.t[0] + limit
        while not self.ui.question_ready():
            assert self.t[0] < end, "the question never became ready"
            self.tick(0.1, dt=0.1)

    @property
    def status(self):
        return self.ui.status()

    def code_on_panel(self):
        page = self.ui.layout.code_page
        return decode_big(self.model.gddram, 128, page)

    def ring_fraction(self):
        lay = self.ui.layout
        lit = sum(self.model.ram_pixel(x, y) for x, y in zip(lay.ring_x, lay.ring_y, strict=True))
        return lit / lay.ring_n


def test_grouping():
    assert ui.group("123456") == "123 456"
    assert ui.group("1234567") == "123 4567"
    assert ui.group("12345678") == "1234 5678"
    assert ui.group("BCDFG") == "BCDFG"
    assert ui.hidden(6) == "*** ***"


def test_ring_lit_is_proportional_to_time_left():
    assert ui.ring_lit(120, 30, 30) == 120
    assert ui.ring_lit(120, 15, 30) == 60
    assert ui.ring_lit(120, 1, 30) == 4
    assert ui.ring_lit(120, 0, 30) == 0


@pytest.mark.parametrize("height", [64, 32])
def test_code_screen_shows_the_current_code_in_big_digits(tmp_path, height):
    r = Rig(tmp_path, height=height)
    want = rfc6238(SECRETS[0], r.clock.t)
    assert r.status["screen"] == "code"
    assert r.status["code"] == want
    assert r.code_on_panel() == want[:3] + " " + want[3:]
    assert r.status["label"] == "Issuer0:user0@example.com"
    assert r.status["seconds_left"] == 27


@pytest.mark.parametrize("digits", [7, 8])
def test_long_codes_are_grouped_and_fit(tmp_path, digits):
    r = Rig(tmp_path, digits=digits)
    want = rfc6238(SECRETS[0], r.clock.t, digits)
    assert r.code_on_panel() == ui.group(want)


@pytest.mark.parametrize("height", [64, 32])
def test_ring_empties_with_the_period(tmp_path, height):
    r = Rig(tmp_path, height=height)
    for _ in range(26):
        left = r.status["seconds_left"]
        if left > ui.WARN_SECONDS:
            assert abs(r.ring_fraction() - left / 30) < 0.03, left
        r.tick(1.0)


def test_last_seconds_mark_the_ring_and_show_the_next_code(tmp_path):
    r = Rig(tmp_path)
    r.tick(30 - 3 - 5)  # 5 s left
    assert r.status["seconds_left"] == 5
    nxt = rfc6238(SECRETS[0], T0 + 30)
    page = r.ui.layout.next_page
    text = bytes(r.model.gddram[page * 128 : (page + 1) * 128])
    expect = Display.__new__(Display)
    expect.buf = bytearray(1 + 128 * 8)
    expect.width, expect.height, expect.pages = 128, 64, 8
    expect.text("next " + ui.group(nxt), 0, page)
    assert text[:80] == bytes(expect.buf[1 + page * 128 : 1 + page * 128 + 80])
    # Dashed: about half of the remaining arc is lit.
    assert abs(r.ring_fraction() - 5 / 30 / 2) < 0.04
    r.tick(5)
    assert r.status["code"] == nxt


def test_codes_are_computed_once_per_period(tmp_path):
    r = Rig(tmp_path)
    r.settings.idle_timeout = 300
    assert r.otp.calls == 1
    r.tick(20)  # 80 updates, still the same period, not yet the last seconds
    assert r.otp.calls == 1
    r.tick(6)  # into the last seconds: the next code, once
    assert r.otp.calls == 2
    r.tick(10)  # the next period reuses it
    assert r.otp.calls == 2
    assert r.status["code"] == rfc6238(SECRETS[0], r.clock.t)


def test_next_and_previous(tmp_path):
    r = Rig(tmp_path)
    r.press("A")
    assert r.status["index"] == 1 and r.status["code"] == rfc6238(SECRETS[1], r.clock.t)
    r.press("B")
    r.press("B")
    assert r.status["index"] == 2 and r.status["label"] == "Issuer2:user2@example.com"


def test_list_view_moves_a_cursor_and_selects(tmp_path):
    r = Rig(tmp_path)
    r.press("C")
    assert r.status["screen"] == "list"
    r.press("A")
    r.press("A")
    r.press("B")
    r.press("C")
    assert r.status["screen"] == "code" and r.status["index"] == 1


def test_privacy_hides_codes_until_selected_then_again_after_timeout(tmp_path):
    r = Rig(tmp_path, privacy=True)
    assert r.status["code"] is None
    assert r.code_on_panel() == "*** ***"
    r.press("C")  # select: reveal
    want = rfc6238(SECRETS[0], r.clock.t)
    assert r.status["code"] == want and r.code_on_panel() == ui.group(want)
    r.tick(ui.REVEAL_SECONDS - 1)
    assert r.status["code"] is not None
    r.tick(2)
    assert r.status["code"] is None and r.code_on_panel() == "*** ***"
    r.press("A")  # another entry: hidden too
    assert r.status["code"] is None


def test_idle_blank_and_the_first_press_only_wakes(tmp_path):
    r = Rig(tmp_path)
    r.tick(29)
    assert r.status["screen"] == "code" and r.model.display_on
    r.tick(2)
    assert r.status["screen"] == "off" and not r.model.display_on
    r.model.reset_counters()
    r.tick(60)
    assert r.model.bytes_received == 0  # nothing sent while blank
    r.press("A")
    assert r.model.display_on and r.status["screen"] == "code" and r.status["index"] == 0
    r.press("A")
    assert r.status["index"] == 1
    assert r.status["code"] == rfc6238(SECRETS[1], r.clock.t)


def test_idle_timeout_comes_from_settings(tmp_path):
    r = Rig(tmp_path)
    r.settings.idle_timeout = 120
    r.tick(100)
    assert r.status["screen"] == "code"
    r.tick(21)
    assert r.status["screen"] == "off"


def _open_delete(r):
    r.press("A", "long")
    assert r.status["screen"] == "menu"
    assert r.ui.menu_items[r.ui.menu_cursor] == "Delete"
    r.press("C")
    assert r.status["screen"] == "confirm"


def test_delete_needs_a_hold_and_anything_else_is_a_no(tmp_path):
    r = Rig(tmp_path)
    r.press("A")  # entry 2
    _open_delete(r)
    r.until_ready()
    r.press("B")  # no
    assert r.status["screen"] == "code" and len(r.vault.accounts) == 3
    _open_delete(r)
    r.until_ready()
    r.press("C")  # a tap of anything is a no
    assert len(r.vault.accounts) == 3
    _open_delete(r)
    r.until_ready()
    r.press("A")  # a tap of A too: a yes is never a tap
    assert len(r.vault.accounts) == 3
    _open_delete(r)
    r.until_ready()
    r.hold("A", question.HOLD_SECONDS + 0.2)
    assert [a.issuer for a in r.vault.accounts] == ["Issuer0", "Issuer2"]
    assert r.status["screen"] == "code" and r.status["count"] == 2


def test_a_hold_let_go_before_the_bar_is_full_is_a_no(tmp_path):
    r = Rig(tmp_path)
    _open_delete(r)
    r.until_ready()
    r.hold("A", question.HOLD_SECONDS - 0.4)
    assert r.status["screen"] == "code" and len(r.vault.accounts) == 3


def test_presses_in_the_first_moment_of_a_question_count_for_nothing(tmp_path):
    r = Rig(tmp_path)
    _open_delete(r)
    r.hold("A", question.GUARD_SECONDS / 2)  # begun inside the guard: not an answer
    r.press("B")
    assert r.status["screen"] == "confirm"
    r.hold("A", 0.05)
    r.tick(question.GUARD_SECONDS)
    r.buttons.press("A")  # held from the guard's start: never fills the bar
    r.tick(question.HOLD_SECONDS + 1)
    r.buttons.release("A")
    assert r.status["screen"] in ("confirm", "code") and len(r.vault.accounts) == 3


def test_confirmation_names_the_entry_by_number_issuer_and_name(tmp_path):
    r = Rig(tmp_path)
    _open_delete(r)
    assert r.status["prompt"] == "Delete #1?\nIssuer: Issuer0\nName: user0@example.com"
    # The rows as drawn: the title, then one row per field.
    expect = Display.__new__(Display)
    expect.buf = bytearray(1 + 128 * 8)
    expect.width, expect.height, expect.pages = 128, 64, 8
    expect.text("Delete #1?", 0, 0)
    expect.text("Issuer: Issuer0", 0, 1)
    assert bytes(r.model.gddram[:256]) == bytes(expect.buf[1:257])


def test_untouched_menu_cancels_itself(tmp_path):
    r = Rig(tmp_path)
    r.press("A", "long")
    r.tick(ui.MODAL_SECONDS + 1)
    assert r.status["screen"] == "code"


def test_clock_not_set_shows_no_code(tmp_path):
    r = Rig(tmp_path)
    r.clock.reason = "power_lost"
    r.tick(1)
    assert r.status["screen"] == "clock_not_set" and r.status["code"] is None
    for page in range(0, 6):
        assert decode_big(r.model.gddram, 128, page).strip() == ""
    r.press("A")
    assert r.status["screen"] == "clock_not_set"
    r.clock.reason = "ok"
    r.tick(1)
    assert r.status["screen"] == "code"


def test_no_accounts_screen(tmp_path):
    r = Rig(tmp_path, accounts=0)
    assert r.status["screen"] == "empty" and r.status["count"] == 0
    r.vault.add(Account("bob", "Example", SECRETS[1]))
    r.tick(1)
    assert r.status["screen"] == "code"
    assert r.status["code"] == rfc6238(SECRETS[1], r.clock.t)


def test_one_button_board_short_is_next_long_is_menu(tmp_path):
    r = Rig(tmp_path, buttons=("A",))
    r.press("A")
    assert r.status["index"] == 1
    r.press("A", "long")
    assert r.status["screen"] == "menu"
    r.press("A", "long")  # choose "Delete"
    assert r.status["screen"] == "confirm"
    r.until_ready()
    r.press("A")  # a tap = no on one button
    assert len(r.vault.accounts) == 3
    r.press("A", "long")
    r.press("A", "long")
    r.until_ready()
    r.hold("A", question.HOLD_SECONDS + 0.2)  # a hold = yes
    assert len(r.vault.accounts) == 2


def test_privacy_toggle_persists(tmp_path):
    r = Rig(tmp_path)
    r.press("A", "long")
    while not r.ui.menu_items[r.ui.menu_cursor].startswith("Privacy"):
        r.press("A")
    r.press("C")
    assert r.settings.privacy
    assert Settings(str(tmp_path)).privacy
    assert r.status["code"] is None


def test_settings_file_bad_values_fall_back_to_defaults(tmp_path):
    (tmp_path / "fob_settings.txt").write_text("privacy=1\nidle_timeout=banana\nnoise\n")
    s = Settings(str(tmp_path))
    assert s.privacy and s.idle_timeout == 30
    with pytest.raises(ValueError, match="idle timeout"):
        s.set_idle_timeout(1)
    s.set_idle_timeout(120)
    assert Settings(str(tmp_path)).idle_timeout == 120


def test_long_label_scrolls_and_short_label_does_not(tmp_path):
    r = Rig(tmp_path)
    assert r.ui._label_w > 128
    first = bytes(r.model.gddram[:128])
    r.tick(ui.SCROLL_PAUSE + 1)
    assert bytes(r.model.gddram[:128]) != first
    r.vault.rename(0, "bo", "X")
    r.tick(0.25)
    label_row = bytes(r.model.gddram[:128])
    r.tick(5)
    assert bytes(r.model.gddram[:128]) == label_row


def test_vault_changes_from_the_host_are_picked_up(tmp_path):
    r = Rig(tmp_path)
    r.press("B")  # last entry
    r.vault.delete(2)
    r.tick(0.25)
    assert r.status["index"] == 1 and r.status["count"] == 2
    assert r.status["code"] == rfc6238(SECRETS[1], r.clock.t)


def test_code_screen_costs_few_bus_bytes_per_second(tmp_path):
    r = Rig(tmp_path)
    r.vault.rename(0, "alice", "GitHub")
    r.tick(1)
    r.model.reset_counters()
    r.tick(60)
    per_second = r.model.bytes_received / 60
    full_frame = 1 + 128 * 8 + 12
    assert per_second <= full_frame / 10, per_second


# -- typing the code as a USB keyboard (settings.typing) -----------------------------------


class FakeTyper:
    """Stands in for fob/hidtype.py: records the code on screen when asked to type, and
    reports a failure as the real one does (ui.notify) when ``note`` is not "Typed"."""

    def __init__(self):
        self.typed = []
        self.note = "Typed"

    def type_from(self, ui):
        ui._code_for(ui.clock.now(), ui._acc.period)  # the code of this second, as hidtype
        self.typed.append((ui._code, ui.settings.layout))
        if self.note != "Typed":
            ui.notify(self.note)
        return self.note


@pytest.fixture
def typer(monkeypatch):
    import sys

    import fob

    fake = FakeTyper()
    monkeypatch.setitem(sys.modules, "fob.hidtype", fake)
    monkeypatch.setattr(fob, "hidtype", fake, raising=False)
    return fake


def test_with_typing_off_a_long_press_opens_the_menu_and_types_nothing(tmp_path, typer):
    r = Rig(tmp_path)
    r.press("A", "long")
    assert r.status["screen"] == "menu"
    assert "Type code" not in r.ui.menu_items
    assert typer.typed == []


@pytest.mark.parametrize("buttons, height", [(("A", "B", "C"), 64), (("A", "B"), 32)])
def test_with_typing_on_a_long_a_types_the_code_shown(tmp_path, typer, buttons, height):
    r = Rig(tmp_path, buttons=buttons, height=height)
    r.settings.typing = True
    r.settings.layout = "fr"
    r.press("A")  # the second account
    shown = r.status["code"]
    assert shown == rfc6238(SECRETS[1], r.clock.t)
    r.press("A", "long")
    assert typer.typed == [(shown, "fr")]
    # Typed: the code screen stays as it was.
    assert r.status["screen"] == "code" and r.status["index"] == 1


@pytest.mark.parametrize("buttons, keys", [(("A", "B", "C"), ("B", "C")), (("A", "B"), ("B",))])
def test_with_typing_on_the_menu_stays_on_the_other_long_presses(tmp_path, typer, buttons, keys):
    for key in keys:
        (tmp_path / key).mkdir()
        r = Rig(tmp_path / key, buttons=buttons)
        r.settings.typing = True
        r.press(key, "long")
        assert r.status["screen"] == "menu"
        # Typing is in the menu too, and List stays reachable on two-button boards.
        assert r.ui.menu_items[0] == "Type code" and "List" in r.ui.menu_items
    assert typer.typed == []


def test_one_button_board_types_from_the_first_menu_item(tmp_path, typer):
    r = Rig(tmp_path, buttons=("A",))
    r.settings.typing = True
    shown = r.status["code"]
    r.press("A", "long")
    assert r.status["screen"] == "menu" and r.ui.menu_items[0] == "Type code"
    r.press("A", "long")
    assert typer.typed == [(shown, "us")]
    assert r.status["screen"] == "code"


def test_typing_from_the_menu_on_three_buttons(tmp_path, typer):
    r = Rig(tmp_path)
    r.settings.typing = True
    r.press("C", "long")
    r.press("C")  # choose the first item
    assert typer.typed == [(r.status["code"], "us")]


def test_a_failed_typing_says_why_until_a_press(tmp_path, typer):
    typer.note = "No USB host"
    r = Rig(tmp_path)
    r.settings.typing = True
    r.press("A", "long")
    assert r.status["screen"] == "notice" and r.status["prompt"] == "No USB host"
    r.press("B")  # dismissed, nothing else done
    assert r.status["screen"] == "code" and r.status["index"] == 0


def real_usb(tmp_path, monkeypatch):
    import sys

    from otpfob.sim import cp
    from otpfob.sim.world import World

    hw = cp.Hardware(World(epoch=T0), Bus(), state_dir=str(tmp_path))
    mods = cp.modules(hw, ("supervisor", "usb_hid"))
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    keyboard = mods["usb_hid"].Device.KEYBOARD
    monkeypatch.setattr(keyboard, "reports", [])
    return mods, keyboard


def test_real_typing_of_a_steam_code_reads_back_on_a_us_host(tmp_path, monkeypatch):
    # The real fob/hidtype.py and adafruit_hid on the simulator's fake USB, with the
    # real OTP engine: the code drawn is the text the host receives.
    from fob import otp
    from otpfob import hid

    _, keyboard = real_usb(tmp_path, monkeypatch)
    r = Rig(tmp_path, accounts=0)
    r.ui.otp = otp
    r.vault.add(Account("gabe", "Steam", SECRETS[0], algorithm="STEAM", digits=5))
    r.settings.typing = True
    r.tick(1)
    shown = r.status["code"]
    assert len(shown) == 5 and r.code_on_panel() == shown
    r.press("A", "long")
    assert r.status["screen"] == "code"
    assert hid.decode(keyboard.reports) == shown + "\n"


def test_real_typing_without_a_usb_host_says_so_at_once(tmp_path, monkeypatch):
    import time

    mods, keyboard = real_usb(tmp_path, monkeypatch)
    runtime = mods["supervisor"].runtime
    monkeypatch.setattr(type(runtime), "usb_connected", property(lambda self: False))
    r = Rig(tmp_path)
    r.settings.typing = True
    t0 = time.monotonic()
    r.press("A", "long")
    assert time.monotonic() - t0 < 0.5
    assert r.status["screen"] == "notice" and r.status["prompt"] == "No USB host"
    assert keyboard.reports == []


def test_typing_that_runs_out_of_memory_says_so_and_the_fob_goes_on(tmp_path, typer):
    def no_memory(ui):
        raise MemoryError("memory allocation failed")

    typer.type_from = no_memory
    r = Rig(tmp_path)
    r.settings.typing = True
    r.press("A", "long")
    assert r.status["screen"] == "notice" and r.status["prompt"] == "Typing failed"
    r.press("A")
    r.press("A")
    assert r.status["screen"] == "code" and r.status["index"] == 1


def shows_row(r, text, page):
    """Whether the panel's row `page` holds exactly `text` in the small font."""
    h = r.display.height
    expect = Display.__new__(Display)
    expect.buf = bytearray(1 + 128 * h // 8)
    expect.width, expect.height, expect.pages = 128, h, h // 8
    expect.text(text, 0, page)
    return bytes(r.model.gddram[page * 128 : (page + 1) * 128]) == bytes(
        expect.buf[1 + page * 128 : 1 + (page + 1) * 128]
    )


def test_a_long_question_counts_a_hold_only_once_it_was_shown_whole(tmp_path):
    r = Rig(tmp_path, height=32)  # three rows for the question, one for the hint
    r.ui.ask(
        "Rename #1?\nIssuer: Issuer0\nName: user0@example.com\nNew Issuer: Issuer0\nNew Name: bob"
    )
    r.tick(0.1)
    assert shows_row(r, "reading...", 3) and shows_row(r, "Rename #1?", 0)
    r.tick(question.GUARD_SECONDS)
    r.hold("A", question.PAGE_SECONDS)  # the second page is not shown yet
    assert r.ui.answer is None and r.status["screen"] == "presence"
    r.until_ready()
    assert shows_row(r, "hold A=yes  B=no", 3)
    r.hold("A", question.HOLD_SECONDS + 0.2)
    assert r.ui.answer is True and r.status["screen"] != "presence"


def test_the_hint_says_how_to_answer_on_a_one_button_board(tmp_path):
    r = Rig(tmp_path, buttons=("A",))
    r.ui.ask("Delete #1?\nIssuer: Issuer0\nName: user0@example.com")
    r.until_ready()
    assert shows_row(r, "hold=yes  tap=no", 7)
    r.press("A")  # a tap is a no
    assert r.ui.answer is False


def test_an_hotp_entry_shows_no_code_until_asked_and_then_the_next_one_each_time(tmp_path):
    r = Rig(tmp_path, accounts=1)
    r.vault.add(Account("card", "Bank", SECRETS[0], hotp=True))
    r.vault.counters().save(((r.vault.accounts[1], 7),))
    r.press("A")  # to the HOTP entry
    assert r.status["code"] is None and decode_big(r.model.gddram, 128, 2).strip() == "--- ---"
    r.press("C")  # the next code: counter 7
    assert r.status["code"] == rfc6238(SECRETS[0], 7 * 30)
    assert decode_big(r.model.gddram, 128, 2).replace(" ", "") == r.status["code"]
    r.press("C")
    assert r.status["code"] == rfc6238(SECRETS[0], 8 * 30)
    assert r.vault.counters().get(r.vault.accounts[1]) == 9
    # From the menu too (the way on one- and two-button boards).
    r.press("A", "long")
    assert r.ui.menu_items[0] == "Next code"
    r.press("C")
    assert r.status["code"] == rfc6238(SECRETS[0], 9 * 30)


def test_an_hotp_code_is_not_shown_when_its_counter_cannot_be_saved(tmp_path):
    r = Rig(tmp_path, accounts=0)
    r.vault.add(Account("card", "Bank", SECRETS[0], hotp=True))
    r.tick(0.3)
    counters = r.vault.counters()

    def broken(changes, keep=None):
        raise OSError(5, "flash")

    counters.save = broken
    r.press("C")
    assert r.status["code"] is None and r.status["screen"] == "notice"


# Labels drawn from strips (fob/labels.py): made-up strips written as the fob stores them.


def label_strip(width, seed=3):
    top = bytes(((seed * 29 + c * 13) & 0x7F) | 2 for c in range(width))
    return top + bytes(((seed * 41 + c * 5) & 0xFF) | 0x20 for c in range(width))


def labelled_rig(tmp_path, height=64, names=("Олена",), issuer="Банк"):
    from fob import label_store

    rig = Rig(tmp_path, accounts=0, height=height)
    for i, name in enumerate(names):
        rig.vault.add(Account(name, issuer, SECRETS[i % 3]))
    for k, text in enumerate([issuer] + list(names)):
        if not font.plain(text):
            label_store.write(rig.vault, text.encode(), label_strip(20 + 3 * k, k))
    rig.ui._gen = None
    rig.tick(0.3)
    return rig


def pages_at(model, page, x0, width):
    ram = model.gddram
    return bytes(ram[page * 128 + x0 : page * 128 + x0 + width]) + bytes(
        ram[(page + 1) * 128 + x0 : (page + 1) * 128 + x0 + width]
    )


@pytest.mark.parametrize("height", [64, 32])
def test_a_label_with_strips_is_drawn_two_pages_high_issuer_bar_name(tmp_path, height):
    rig = labelled_rig(tmp_path, height)
    assert rig.status["screen"] == "code" and rig.status["label"] == "Банк:Олена"
    issuer, name = label_strip(20, 0), label_strip(23, 1)
    assert pages_at(rig.model, 0, 0, 20) == issuer
    bar = pages_at(rig.model, 0, 20, 6)
    assert bar == bytes((0, 0, 0xFF, 0, 0, 0)) * 2
    shown = pages_at(rig.model, 0, 26, 23)
    room = 128 - 26 - rig.ui._label_room()
    assert shown[: min(23, room)] == name[: min(23, room)]
    if height == 32:
        # The code in the small font doubled, on pages 2-3, left of the ring.
        from fob import labels

        code = rig.ui.shown_code
        d = Display(I2C(Bus()), 128, 32, oled=type("P", (), {"buffer": bytearray(513)})())
        lay = rig.ui.tall
        text = ui.group(code)
        labels.medium(d, text, (lay.code_x1 - labels.medium_width(text)) // 2, 2)
        assert bytes(rig.model.gddram[256:512]) and all(
            rig.model.gddram[p * 128 + x] == d.buf[1 + p * 128 + x]
            for p in (2, 3)
            for x in range(lay.code_x1)
        )
    else:
        assert rig.code_on_panel() == ui.group(rig.ui.shown_code)


def test_a_damaged_strip_leaves_the_label_to_the_small_font(tmp_path):
    from fob import labels

    rig = labelled_rig(tmp_path)
    path = labels.path(rig.vault.root, "Олена".encode())
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 1
    open(path, "wb").write(data)
    path = labels.path(rig.vault.root, "Банк".encode())
    import os

    os.remove(path)
    rig.ui._gen = None
    rig.tick(1)
    assert rig.ui._strips is None
    d = Display(I2C(Bus()), 128, 64, oled=type("P", (), {"buffer": bytearray(1025)})())
    d.text(ui.drawn(rig.vault.accounts[0]), 0, 0)
    assert bytes(rig.model.gddram[:60]) == bytes(d.buf[1:61])


def test_the_list_gives_a_label_with_strips_two_pages_and_the_cursor_covers_them(tmp_path):
    rig = labelled_rig(tmp_path, names=("Олена", "Мария"))
    rig.vault.add(Account("plain", "ASCII", SECRETS[2]))
    rig.ui._gen = None
    rig.tick(0.3)
    rig.press("C")  # the code screen's C: the list
    assert rig.status["screen"] == "list"
    ram = rig.model.gddram
    # Rows: two pages, two pages, one page; the first is the cursor's (inverted).
    assert pages_at(rig.model, 0, 2, 20) == bytes(b ^ 0xFF for b in label_strip(20, 0))
    assert pages_at(rig.model, 2, 2, 20) == label_strip(20, 0)
    assert any(ram[4 * 128 + x] for x in range(2, 60)) and not any(ram[5 * 128 : 6 * 128])


def test_a_question_draws_a_field_strip_after_the_field_name(tmp_path):
    from fob import labels

    rig = labelled_rig(tmp_path)
    new = label_strip(17, 7)
    prompt = "Rename #1?\nIssuer: Банк\nName: Олена\nNew Issuer: Банк\nNew Name: Ліна"
    labels.held = (prompt, {"Ліна": new})
    rig.ui.ask(prompt)
    rig.tick(0.3)
    ram = rig.model.gddram
    # Title on page 0; "Issuer: " on page 2 (the row's lower page), the strip after it.
    x = font.text_width("Issuer: ") + 1
    assert pages_at(rig.model, 1, x, 20) == label_strip(20, 0)
    assert any(ram[2 * 128 + c] for c in range(x - 1)) and not any(ram[128 : 128 + x - 1])
    assert labels.held is None  # taken by this question
    # The rest of the question on the next page: the new name from the request.
    rig.tick(2.5)
    rows = rig.ui.q.rows
    # Title, issuer, name and new issuer fill the seven rows above the hint.
    assert rows[rig.ui.q.top :] == ["New Name: Ліна"]
    x = font.text_width("New Name: ") + 1
    assert pages_at(rig.model, 0, x, 17) == new
