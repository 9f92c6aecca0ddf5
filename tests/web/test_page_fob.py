"""The admin page against the fob on the page (the real firmware on MicroPython's
WebAssembly port, in the page): every step an admin takes, each code checked against
pyotp at the fob's own time. The holder's answers are key presses on the page's fob."""

import pytest
from pagekit import AdminPage, expect_codes, fob_keys, qr_png, save_screenshot, wait, warnings

from otpfob import migration
from otpfob.otpauth import Account, build_uri

ALICE = b"alice-secret-0123456"
CAROL = b"carol-secret-0123456"
DAN = b"dan-secret-0123456789"
ERIN = b"erin-secret-01234567"
BOB = b"bob-secret-012345678"
FRANK = b"frank-secret-0123456"


@pytest.fixture
def admin(page, server):
    page.goto(server.url + "?demo=0")
    a = AdminPage(page, fob_keys(page))
    kind, text = a.connect("Try it without hardware")
    assert kind == "ok", text
    return a


def test_the_page_provisions_the_fob_on_the_page(admin, page, tmp_path):
    # A new fob's clock is not set: the set waits for the holder's press.
    assert "not set" in page.inner_text("#info")
    admin.click("Set clock", yes=True)
    assert "Set the fob's clock to" in admin.ok()
    save_screenshot(page, "web-admin.png")

    uri = build_uri(Account("alice@example.com", ALICE, issuer="Example"))
    admin.source("An otpauth:// URI")
    page.get_by_label("otpauth:// URI", exact=True).fill(uri)
    admin.click("Add account")
    admin.press(True, screenshot="web-confirm.png")
    kind, text = admin.outcome()
    assert kind == "ok" and "Added Example:alice@example.com as #1" in text, text
    assert "matches" in text

    png = qr_png(build_uri(Account("carol", CAROL, issuer="Forge")), tmp_path / "carol.png")
    kind, text = admin.add_qr(png)
    assert kind == "ok" and "Added Forge:carol" in text, text

    # An import: a text file of otpauth lines and a Google Authenticator export's QR.
    lines = tmp_path / "accounts.txt"
    lines.write_text(
        "# two accounts\n%s\n%s\n"
        % (
            build_uri(Account("dan", DAN, issuer="Mail")),
            build_uri(Account("bob", BOB, issuer="Bank")),
        )
    )
    export = migration.export_uris(
        [Account("erin", ERIN, issuer="Shop"), Account("frank", FRANK, issuer="Cloud")]
    )[0]
    kind, text = admin.import_files([lines, qr_png(export, tmp_path / "export.png")])
    assert kind == "ok" and "Imported 4 accounts (4 new, 0 replaced)" in text, text
    assert admin.accounts() == [
        "Example:alice@example.com",
        "Forge:carol",
        "Mail:dan",
        "Bank:bob",
        "Shop:erin",
        "Cloud:frank",
    ]

    fob_time, codes = admin.codes(True)
    expect_codes(
        fob_time,
        codes,
        {
            "Example:alice@example.com": ALICE,
            "Forge:carol": CAROL,
            "Mail:dan": DAN,
            "Bank:bob": BOB,
            "Shop:erin": ERIN,
            "Cloud:frank": FRANK,
        },
    )
    save_screenshot(page, "web-accounts.png")

    admin.click("Rename Example:alice@example.com")
    admin.fill_dialog({"Account name": "alice@work.example"})
    admin.press(True)
    assert "Renamed Example:alice@example.com to Example:alice@work.example" in admin.ok()

    admin.click("Delete Bank:bob")
    admin.fill_dialog({})
    admin.press(True)
    assert "Deleted Bank:bob" in admin.ok()
    assert "Bank:bob" not in admin.accounts() and len(admin.accounts()) == 5


def test_a_refused_press_changes_nothing_and_says_so(admin, page):
    kind, text = admin.add_uri(build_uri(Account("zed", ALICE, issuer="Nope")), yes=False)
    assert kind == "error" and "refused" in text.lower(), text
    assert "Nope:zed" not in admin.accounts()


def fob_status(page):
    return page.evaluate("() => window.otpfobAdmin.fob.status()")


def test_a_password_then_a_wrong_one_then_the_right_one(admin, page):
    page.get_by_label("New password").fill("correct horse")
    page.get_by_label("Repeat it").fill("correct horse")
    admin.click("Set password")
    # The page shows the check value it worked out from the new key; the fob draws the
    # same one under its question.
    page.wait_for_selector("#presence:not([hidden])", timeout=20000)
    shown = page.inner_text("#presence")
    drawn = fob_status(page)["prompt"] or ""
    admin.answer(True)
    assert "Set password?" in drawn and "Check: " in drawn, drawn
    assert "The fob must show %s;" % drawn.rsplit("Check: ", 1)[1].strip() in shown, shown
    assert "Password set" in admin.ok()
    admin.click("Disconnect")
    assert "Disconnected" in admin.ok()
    kind, text = admin.connect("Try it without hardware")
    assert kind == "ok" and "log in" in text, text
    admin.click("Log in")
    admin.login("battery staple")
    text = admin.error()
    assert "wrong password" in text.lower() or "bad" in text.lower(), text
    assert "7" in text  # the tries left, as the fob counts them
    admin.click("Log in")
    admin.login("correct horse")
    assert "Logged in" in admin.ok()
    # The wrong try in between is reported at the right login, as the CLI warns.
    assert (
        "1 wrong password try on this fob since your last login: someone may be guessing"
    ) in warnings(page)
    assert admin.accounts() == []
    # A page whose port goes away (no logout) ends its session on the fob, as a USB host
    # that closes the port does: the link state of the fob's data channel.
    assert fob_status(page)["session"] is True
    page.evaluate("() => window.otpfobAdmin.client.transport.close()")
    wait(lambda: fob_status(page)["session"] is False, 5, "the fob to end the session")
    kind, text = admin.connect("Try it without hardware")
    admin.click("Log in")
    admin.login("correct horse")
    assert "Logged in" in admin.ok()
    admin.click("Remove the password", yes=True)
    assert "Password removed" in admin.ok()
    assert "Password\nnone" in page.inner_text("#info")


def fake_picture_script(png_path):
    """Stand-ins for the camera and the screen share: a stream of a canvas showing the
    picture (the page reads the frames exactly as it reads a real camera's)."""
    import base64

    data = base64.b64encode(png_path.read_bytes()).decode()
    return (
        """
      (() => {
        const stream = async () => {
          const img = new Image();
          img.src = "data:image/png;base64,%s";
          await img.decode();
          const c = document.createElement("canvas");
          c.width = img.width + 80; c.height = img.height + 80;
          const ctx = c.getContext("2d");
          const draw = () => { ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
            ctx.drawImage(img, 40, 40); };
          draw();
          setInterval(draw, 100);
          return c.captureStream(10);
        };
        navigator.mediaDevices.getUserMedia = stream;
        navigator.mediaDevices.getDisplayMedia = stream;
      })();"""
        % data
    )


def test_add_from_the_camera_and_from_a_shared_screen(page, server, tmp_path):
    png = qr_png(build_uri(Account("cam", CAROL, issuer="Lens")), tmp_path / "cam.png")
    page.add_init_script(fake_picture_script(png))
    page.goto(server.url + "?demo=1")
    admin = AdminPage(page, fob_keys(page))
    assert admin.connect("Try it without hardware")[0] == "ok"
    for source in ("The camera", "A shared screen"):
        admin.source(source)
        admin.click("Start reading")
        assert "Read a QR code" in admin.ok()
        first = source == "The camera"
        # The second time it is the same account: the fob refuses a duplicate at once.
        admin.click("Add account", yes=True if first else None)
        kind, text = admin.outcome()
        if first:
            assert kind == "ok" and "Added Lens:cam as #2" in text, text
        else:
            assert kind == "error" and "already on the fob" in text, text
    fob_time, codes = admin.codes(True)
    expect_codes(fob_time, codes, {"Lens:cam": CAROL})
