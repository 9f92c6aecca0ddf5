"""What a person does on the admin page, step by step, for tests/web (not a test module):
``AdminPage`` drives the page, ``expect_codes`` checks the fob's codes against pyotp."""

import base64
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS_IMG = REPO / "docs" / "img"


def b32(secret):
    return base64.b32encode(secret).decode().rstrip("=")


class AdminPage:
    """The admin page as a person uses it. ``answer(yes)`` gives the fob's answer when it
    asks its holder (a key press on the page's fob, the simulator's control port...)."""

    def __init__(self, page, answer=None):
        self.page = page
        self.answer = answer
        self.started = 0

    def finished(self):
        return self.page.evaluate("() => (window.otpfobAdmin || {}).finished || 0")

    def outcome(self, timeout=60):
        """The notice or the error the last action ended with: ("ok"|"error", text)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "n => (window.otpfobAdmin.finished || 0) > n",
                arg=self.started,
                timeout=timeout * 1000,
            )
        except PlaywrightTimeout:
            raise AssertionError(
                "the action did not end within %d s; the page shows: %r"
                % (timeout, self.page.inner_text("main"))
            ) from None
        error = self.page.inner_text("#message")
        return ("error", error) if error else ("ok", self.page.inner_text("#notice"))

    def ok(self, timeout=60):
        kind, text = self.outcome(timeout)
        assert kind == "ok", text
        return text

    def error(self, timeout=60):
        kind, text = self.outcome(timeout)
        assert kind == "error", text
        return text

    def click(self, name, yes=None, exact=False):
        self.started = self.finished()
        self.page.get_by_role("button", name=name, exact=exact).first.click()
        if yes is not None:
            self.press(yes)

    def press(self, yes, screenshot=None):
        """Wait for the fob's question on the page, then answer it."""
        self.page.wait_for_selector("#presence:not([hidden])", timeout=20000)
        text = self.page.inner_text("#presence")
        assert "Confirm on the fob" in text
        assert "Hold A on the fob until the bar is full to say yes" in text
        if screenshot:
            save_screenshot(self.page, screenshot)
        self.answer(yes)
        return text

    def connect(self, name="Connect"):
        self.click(name)
        return self.outcome()

    def source(self, label):
        self.page.get_by_label(label).check()

    def add_uri(self, uri, yes=True):
        self.source("An otpauth:// URI")
        self.page.get_by_label("otpauth:// URI", exact=True).fill(uri)
        self.click("Add account", yes)
        return self.outcome()

    def add_qr(self, path, yes=True):
        self.source("A QR image file")
        self.page.get_by_label("QR image", exact=True).set_input_files(str(path))
        self.click("Add account", yes)
        return self.outcome()

    def import_files(self, paths, yes=True):
        self.page.get_by_label("Files").set_input_files([str(p) for p in paths])
        self.click("Import", yes, exact=True)
        return self.outcome()

    def accounts(self):
        rows = self.page.locator("#accounts tbody tr")
        return [
            rows.nth(i).locator("td").nth(1).inner_text()
            + ":"
            + rows.nth(i).locator("td").nth(2).inner_text()
            for i in range(rows.count())
        ]

    def codes(self, yes=None):
        """(fob time, {label: code}) from Show codes; `yes` answers the fob's question
        (codes leave it with its holder's press), None when nobody needs to."""
        self.click("Show codes", yes)
        self.ok()
        got = self.page.evaluate("() => window.otpfobAdmin.lastCodes")
        return got["time"], {
            ("%s:%s" % (c["issuer"], c["name"]) if c["issuer"] else c["name"]): c["code"]
            for c in got["codes"]
        }

    def fill_dialog(self, values):
        self.page.wait_for_selector("#ask-dialog[open]")
        for label, value in values.items():
            self.page.locator("#ask-fields").get_by_label(label).fill(value)
        self.page.locator("#ask-ok").click()

    def login(self, password):
        self.page.wait_for_selector("#login-dialog[open]", timeout=20000)
        self.page.locator("#login-dialog").get_by_label("Password").fill(password)
        self.page.locator("#login-ok").click()


def fob_keys(page):
    """An AdminPage `answer` for the fob on the page: its own `answer(yes)`, which waits
    until the fob counts a hold, then holds A until the bar is full (yes) or taps B (no),
    as `otpfob sim`'s control port does."""
    return lambda yes: page.evaluate("yes => window.otpfobAdmin.fob.answer(yes)", yes)


def keyboard_yes(page, hold=1.9):
    """A yes from the keyboard, as a person gives it: once the fob counts a hold (its
    status says so), key A held until the bar is full."""
    wait(
        lambda: page.evaluate("""async () => { const s = await window.otpfobAdmin.fob.status();
        return !!(s && s.prompt_ready); }"""),
        30,
        "the fob to count a hold",
    )
    page.keyboard.down("a")
    time.sleep(hold)
    page.keyboard.up("a")


def warnings(page):
    return page.inner_text("#warnings")


def expect_codes(fob_time, codes, secrets):
    """Every code the fob gave matches pyotp's at the fob's own time."""
    import pyotp

    assert fob_time, "the fob gave no time"
    for label, secret in secrets.items():
        want = pyotp.TOTP(b32(secret)).at(fob_time)
        assert codes[label] == want, (label, codes[label], want)


def save_screenshot(page, name):
    """A picture of the page. `make screenshot` (OTPFOB_SCREENSHOTS=1) keeps the main
    screens in docs/img for the README; otherwise it goes to a temporary file."""
    fd, tmp = tempfile.mkstemp(suffix=".png")
    os.close(fd)
    page.screenshot(path=tmp)
    if os.environ.get("OTPFOB_SCREENSHOTS"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.move(tmp, str(DOCS_IMG / name))
        os.chmod(DOCS_IMG / name, 0o644)
    else:
        os.remove(tmp)


def wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def qr_png(text, path):
    import segno

    segno.make(text, error="m").save(str(path), scale=6, border=4)
    return path
