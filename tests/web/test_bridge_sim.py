"""The admin page against `otpfob sim --headless --autopress` through `otpfob web
--serial-bridge`: the page's stand-in for navigator.serial reaches the simulator's TCP data
port over a WebSocket. Codes are checked against pyotp at the fob's own time."""

import hashlib

import pyotp
import pytest
from pagekit import AdminPage, b32, expect_codes, qr_png

from otpfob import migration
from otpfob.otpauth import Account, build_uri
from otpfob.sim.harness import SimProcess

GIT = b"git-secret-0123456789"
MAIL = b"mail-secret-01234567"
SHOP = b"shop-secret-01234567"
BANK = b"bank-secret-01234567"
CLOUD = b"cloud-secret-0123456789"


@pytest.fixture
def sim(tmp_path, browser):
    proc = SimProcess(tmp_path / "state", autopress=True).start()
    yield proc
    try:
        proc.stop()
    except Exception:
        proc.kill()


@pytest.fixture
def admin(page, sim, bridge_server):
    srv = bridge_server(sim.data_url)
    page.goto(srv.url)
    assert "--serial-bridge" in page.inner_text("#bridge-note")
    a = AdminPage(page)
    kind, text = a.connect("Connect")
    assert kind == "ok", text
    assert "the bridge to socket://127.0.0.1" in page.inner_text("#conn-state")
    return a


def test_the_page_provisions_the_simulator_through_the_bridge(admin, page, sim, tmp_path,
                                                               clock_history_home):
    admin.click("Set clock")
    assert "Set the fob's clock to" in admin.ok()
    # The reading went into the clock history the CLI keeps (here a test folder).
    assert (clock_history_home / "clock-history.json").is_file()
    admin.click("Calibrate")
    assert "a drift estimate needs readings at least a day apart" in admin.error()
    kind, text = admin.add_uri(build_uri(Account("octocat", GIT, issuer="GitHub")), yes=None)
    assert kind == "ok" and "Added GitHub:octocat as #1" in text and "matches" in text, text
    kind, text = admin.add_qr(qr_png(build_uri(Account("me", MAIL, issuer="Mail")),
                                     tmp_path / "mail.png"), yes=None)
    assert kind == "ok" and "Added Mail:me" in text, text
    export = migration.export_uris([Account("shopper", SHOP, issuer="Shop"),
                                    Account("saver", BANK, issuer="Bank")])[0]
    lines = tmp_path / "export.txt"
    lines.write_text(export + "\n")
    kind, text = admin.import_files([lines], yes=None)
    assert kind == "ok" and "Imported 2 accounts" in text, text
    # A typed secret, with the issuer in the name as `otpfob add Issuer:name` takes it.
    admin.source("A secret")
    form = page.locator("#add-form")
    form.get_by_label("Account name").fill("Cloud:ops")
    form.get_by_label("Secret (base32)").fill(b32(CLOUD).lower())
    form.get_by_label("Algorithm").select_option("SHA256")
    form.get_by_label("Digits").select_option("8")
    admin.click("Add account")
    assert "Added Cloud:ops as #5" in admin.ok()
    assert admin.accounts() == ["GitHub:octocat", "Mail:me", "Shop:shopper", "Bank:saver",
                                "Cloud:ops"]
    fob_time, codes = admin.codes()
    expect_codes(fob_time, codes, {"GitHub:octocat": GIT, "Mail:me": MAIL,
                                   "Shop:shopper": SHOP, "Bank:saver": BANK})
    assert codes["Cloud:ops"] == pyotp.TOTP(b32(CLOUD), digits=8,
                                            digest=hashlib.sha256).at(fob_time)
    assert sim.status()["count"] == 5
    admin.click("Self-test")
    assert "all passed" in admin.ok()
    page.get_by_label("Hide codes until an entry is selected").check()
    admin.click("Save settings")
    assert "Changed privacy to on" in admin.ok()
    admin.click("Delete Cloud:ops")
    admin.fill_dialog({})
    assert "Deleted Cloud:ops" in admin.ok()

    admin.click("Rename Mail:me")
    admin.fill_dialog({"Issuer": "Post", "Account name": "me@post.example"})
    assert "to Post:me@post.example" in admin.ok()
    admin.click("Delete Shop:shopper")
    admin.fill_dialog({})
    assert "Deleted Shop:shopper" in admin.ok()
    assert admin.accounts() == ["GitHub:octocat", "Post:me@post.example", "Bank:saver"]

    # A refused press: the holder says no on the fob (B), nothing changes.
    sim.ok("autopress off")
    page.get_by_label("An otpauth:// URI").check()
    page.get_by_label("otpauth:// URI", exact=True).fill(
        build_uri(Account("no", GIT, issuer="Nope")))
    admin.click("Add account")
    sim.wait_for(lambda st: st.get("prompt"), what="the fob's question")
    assert "Confirm on the fob" in page.inner_text("#presence")
    sim.press("B")
    text = admin.error()
    assert "refused" in text.lower(), text
    assert sim.status()["count"] == 3
    sim.ok("autopress on")

    # A password, then a wrong one after reconnecting.
    page.get_by_label("New password").fill("hunter22")
    page.get_by_label("Repeat it").fill("hunter22")
    admin.click("Set password")
    assert "Password set" in admin.ok()
    page.get_by_role("button", name="Disconnect").click()
    kind, text = admin.connect("Connect")
    assert "log in" in text
    admin.click("Log in")
    admin.login("wrong one")
    assert "wrong password" in admin.error().lower()
    admin.click("Log in")
    admin.login("hunter22")
    assert "Logged in" in admin.ok()
    assert len(admin.accounts()) == 3
    # A change: the new key goes masked with this login's key, and the session goes on.
    page.get_by_label("New password").fill("correct horse 2")
    page.get_by_label("Repeat it").fill("correct horse 2")
    admin.click("Set password (change it)")
    assert "Password changed" in admin.ok()
    admin.click("Reload the list")
    assert "List reloaded" in admin.ok()

    # Erase: every account and the password go (after a press on the fob).
    admin.click("Erase the fob")
    admin.fill_dialog({})
    assert "Erased 3 accounts" in admin.ok()
    assert admin.accounts() == [] and sim.status()["count"] == 0
    assert "none" in page.inner_text("#info")
