"""The real firmware (code.py) on the simulated board: codes read back from the OLED's
GDDRAM with the firmware's glyph tables and compared with pyotp."""

import base64
import random
import sys
import threading
import time

import pyotp
import pytest

from fob import font
from fob.vault import Account, Vault
from otpfob.sim.runner import Simulator

START = 1800000000


def decode_big(ram, page):
    """Big-font characters drawn with their top on ``page`` (gaps become spaces)."""
    n = font.BIG_W * font.BIG_PAGES
    glyphs = {
        bytes(font.BIG[font.big_offset(c) : font.big_offset(c) + n]): c for c in font.BIG_CHARS
    }
    out, x, last_end = "", 0, None
    while x <= 128 - font.BIG_W:
        cell = bytes(
            ram[(page + p) * 128 + x + c] for p in range(font.BIG_PAGES) for c in range(font.BIG_W)
        )
        ch = glyphs.get(cell)
        if ch is not None and any(cell):
            if last_end is not None and x - last_end > font.BIG_ADVANCE - font.BIG_W:
                out += " "
            out += ch
            last_end = x + font.BIG_W
            x += font.BIG_W
        else:
            x += 1
    return out


def any_big_glyph(ram, pages):
    return "".join(decode_big(ram, p) for p in range(pages - font.BIG_PAGES + 1)).strip()


def steam_code(b32, t):
    alphabet = "23456789BCDFGHJKMNPQRTVWXY"
    v = int(pyotp.TOTP(b32, digits=10).at(t))  # the 31-bit truncated value, below 10**10
    out = ""
    for _ in range(5):
        out += alphabet[v % 26]
        v //= 26
    return out


class Fob:
    def __init__(self, state, board="sim", accounts=()):
        state.mkdir(parents=True, exist_ok=True)
        v = Vault(str(state))
        v.load()
        if accounts:
            v.add_many(list(accounts))
        self.sim = Simulator(state, board=board)
        self.sim.set_clock(START)
        self.thread = threading.Thread(target=self.sim.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while "count" not in self.sim.status():
            assert time.time() < deadline, self.sim.status()
            assert self.sim.firmware_state != "crashed", self.sim.last_error
            time.sleep(0.01)
        self.advance(0.2)

    @property
    def code_page(self):
        return 2 if self.sim.display.height == 64 else 1

    def advance(self, s):
        self.sim.advance(s)

    def press(self, name, seconds=0.1):
        self.sim.press(name, seconds)

    def answer(self, yes):
        self.sim.answer(yes)

    def clock(self, epoch):
        # The firmware reads the RTC about once a second, so a date moved behind its back
        # shows within a second.
        self.sim.set_clock(epoch)
        self.sim.advance(1.1)

    def status(self):
        return self.sim.status()

    def panel_code(self):
        return decode_big(self.sim.display.gddram, self.code_page)

    def close(self):
        self.sim.request_quit()
        self.thread.join(10)


@pytest.fixture
def make_fob(tmp_path):
    made = []

    def make(**kw):
        f = Fob(tmp_path / ("state%d" % len(made)), **kw)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def random_accounts(rng, n):
    out = []
    for i in range(n):
        raw = bytes(rng.randrange(256) for _ in range(rng.choice((14, 16, 20, 32, 64))))
        out.append(Account("user%d" % i, "Site%d" % i, raw))
    return out


def b32(raw):
    return base64.b32encode(raw).decode()


def test_codes_on_the_oled_match_pyotp_for_random_secrets_and_times(make_fob):
    rng = random.Random(2024)
    accs = random_accounts(rng, 6)
    fob = make_fob(accounts=accs)
    checked = 0
    for _ in range(4):
        t = rng.randrange(START, START + 10**8)
        t -= t % 30 - rng.randrange(0, 12)  # keep clear of the period's end
        fob.clock(t)
        fob.press("A")  # wakes the display if it blanked, else moves on
        for _ in range(len(accs)):
            st = fob.status()
            acc = accs[st["index"]]
            now = st["rtc_time"]
            want = pyotp.TOTP(b32(acc.secret)).at(now)
            assert fob.panel_code() == want[:3] + " " + want[3:], (acc, now)
            assert st["code"] == want
            assert st["label"] == "%s:%s" % (acc.issuer, acc.name)
            checked += 1
            fob.press("A")
    assert checked == 24


def test_eight_digit_sha256_and_steam_codes(make_fob):
    rng = random.Random(5)
    raw = [bytes(rng.randrange(256) for _ in range(20)) for _ in range(2)]
    fob = make_fob(
        accounts=[
            Account("a", "Eight", raw[0], "SHA256", 8),
            Account("b", "Steam", raw[1], "STEAM", 5),
        ]
    )
    now = fob.status()["rtc_time"]
    want = pyotp.TOTP(b32(raw[0]), digits=8, digest="sha256").at(now)
    assert fob.panel_code() == want[:4] + " " + want[4:]
    fob.press("A")
    now = fob.status()["rtc_time"]
    assert fob.panel_code() == steam_code(b32(raw[1]), now)


def test_ring_fraction_follows_seconds_left(make_fob):
    fob = make_fob(accounts=random_accounts(random.Random(1), 1))
    fob.clock(START + 600)  # a period start
    lay_ring = None
    for _ in range(5):
        st = fob.status()
        left = st["seconds_left"]
        app = __import__("sys").modules["fob.app"].APP
        lay_ring = app.ui.layout
        ram = fob.sim.display.gddram
        lit = sum(
            (ram[(y >> 3) * 128 + x] >> (y & 7)) & 1
            for x, y in zip(lay_ring.ring_x, lay_ring.ring_y, strict=True)
        )
        assert left == 30 - (st["rtc_time"] % 30)
        assert abs(lit / lay_ring.ring_n - left / 30) < 0.03, (lit, left)
        fob.advance(4)


def test_rtc_power_loss_shows_no_digits(make_fob):
    fob = make_fob(accounts=random_accounts(random.Random(2), 2))
    assert fob.panel_code()
    fob.sim.rtc_power_loss()
    fob.advance(1.5)
    st = fob.status()
    assert st["screen"] == "clock_not_set" and st["code"] is None
    assert any_big_glyph(fob.sim.display.gddram, 8) == ""
    fob.clock(START + 1234)
    assert fob.status()["screen"] == "code"


def test_navigation_and_delete_with_confirmation(make_fob):
    accs = random_accounts(random.Random(3), 3)
    fob = make_fob(accounts=accs)
    fob.press("A")
    assert fob.status()["index"] == 1
    fob.press("B")
    fob.press("B")
    assert fob.status()["index"] == 2
    fob.press("C")
    assert fob.status()["screen"] == "list"
    fob.press("A")  # the cursor wraps to the first entry
    fob.press("C")
    assert fob.status()["index"] == 0 and fob.status()["screen"] == "code"
    fob.press("A", 1.0)  # long press: menu
    assert fob.status()["screen"] == "menu"
    fob.press("C")  # Delete
    assert fob.status()["screen"] == "confirm"
    fob.press("B")  # in the question's first moment: no answer at all
    assert fob.status()["screen"] == "confirm"
    fob.answer(False)  # B
    assert fob.status()["count"] == 3 and fob.status()["screen"] == "code"
    fob.press("A", 1.0)
    fob.press("C")
    fob.advance(1.5)
    fob.press("A")  # a tap of A is a no too
    assert fob.status()["count"] == 3
    fob.press("A", 1.0)
    fob.press("C")
    fob.answer(True)  # A held until the bar is full
    st = fob.status()
    assert st["count"] == 2 and st["screen"] == "code"
    v = Vault(str(fob.sim.state_dir))
    v.load()
    assert [a.issuer for a in v.accounts] == ["Site1", "Site2"]


class FailingFlash:
    """The firmware's vault file layer with every write failing, as a worn or full flash
    chip's do; reads still reach the files."""

    def __init__(self, fs):
        self.fs = fs

    def open(self, path, mode):
        if "w" in mode or "+" in mode or "a" in mode:
            raise OSError(5, "flash failed")
        return self.fs.open(path, mode)

    def size(self, path):
        return self.fs.size(path)

    def sync(self):
        raise OSError(5, "flash failed")


def test_the_holders_delete_on_a_failing_flash_is_a_notice_and_keeps_the_account(make_fob):
    # A flash error must not escape to the loop, which would leave the confirmation on
    # the screen until it times out (15 s) with nothing said.
    accs = random_accounts(random.Random(5), 3)
    fob = make_fob(accounts=accs)
    vault = sys.modules["fob.app"].APP.ui.vault  # the running firmware's own
    vault.fs = FailingFlash(vault.fs)
    fob.press("A", 1.0)
    fob.press("C")  # Delete
    assert fob.status()["screen"] == "confirm"
    fob.answer(True)
    fob.advance(0.5)
    st = fob.status()
    assert st["screen"] == "notice" and "Delete failed" in st["prompt"], st
    assert st["count"] == 3
    fob.press("B")
    st = fob.status()
    assert st["screen"] == "code" and st["count"] == 3 and st["index"] == 0
    v = Vault(str(fob.sim.state_dir))
    v.load()
    assert [a.issuer for a in v.accounts] == ["Site0", "Site1", "Site2"]
    # Nothing was left half done: with the flash back, the same delete goes through.
    vault.fs = vault.fs.fs
    fob.press("A", 1.0)
    fob.press("C")
    fob.answer(True)
    st = fob.status()
    assert st["screen"] == "code" and st["count"] == 2
    v.load()
    assert [a.issuer for a in v.accounts] == ["Site1", "Site2"]


def test_idle_blank_and_wake(make_fob):
    fob = make_fob(accounts=random_accounts(random.Random(4), 2))
    fob.advance(31)
    assert fob.status()["screen"] == "off" and not fob.sim.display.display_on
    fob.press("A")
    st = fob.status()
    assert st["screen"] == "code" and st["index"] == 0 and fob.sim.display.display_on


def test_qtpy_128x32_renders_a_code(make_fob):
    accs = random_accounts(random.Random(6), 2)
    fob = make_fob(board="adafruit_qtpy_rp2040", accounts=accs)
    st = fob.status()
    want = pyotp.TOTP(b32(accs[0].secret)).at(st["rtc_time"])
    assert fob.sim.display.height == 32
    assert fob.panel_code() == want[:3] + " " + want[3:]
    assert st["seconds_left"] == 30 - st["rtc_time"] % 30


def test_empty_fob_says_how_to_add(make_fob):
    fob = make_fob()
    st = fob.status()
    assert st["screen"] == "empty" and st["code"] is None
    assert any_big_glyph(fob.sim.display.gddram, 8) == ""


def test_code_screen_bus_traffic_is_small(make_fob):
    fob = make_fob(accounts=[Account("alice", "GitHub", b"12345678901234567890")])
    fob.press("A")
    before = fob.status()["i2c_bytes"]
    fob.advance(25)
    per_second = (fob.status()["i2c_bytes"] - before) / 25
    assert per_second < 1037 / 10, per_second
