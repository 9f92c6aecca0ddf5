"""The admin page against `otpfob sim --headless --autopress` through `otpfob web
--serial-bridge`: the page's stand-in for navigator.serial reaches the simulator's TCP data
port over a WebSocket. Codes are checked against pyotp at the fob's own time."""

import hashlib
import json
import socket
import threading

import pyotp
import pytest
from pagekit import AdminPage, b32, expect_codes, qr_png, warnings

from otpfob import check, migration
from otpfob.client import FobError
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


def test_the_page_provisions_the_simulator_through_the_bridge(
    admin, page, sim, tmp_path, clock_history_home
):
    admin.click("Set clock")
    assert "Set the fob's clock to" in admin.ok()
    # The reading went into the clock history the CLI keeps (here a test folder).
    assert (clock_history_home / "clock-history.json").is_file()
    admin.click("Calibrate")
    assert "a drift estimate needs readings at least a day apart" in admin.error()
    kind, text = admin.add_uri(build_uri(Account("octocat", GIT, issuer="GitHub")), yes=None)
    assert kind == "ok" and "Added GitHub:octocat as #1" in text and "matches" in text, text
    kind, text = admin.add_qr(
        qr_png(build_uri(Account("me", MAIL, issuer="Mail")), tmp_path / "mail.png"), yes=None
    )
    assert kind == "ok" and "Added Mail:me" in text, text
    export = migration.export_uris(
        [Account("shopper", SHOP, issuer="Shop"), Account("saver", BANK, issuer="Bank")]
    )[0]
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
    assert admin.accounts() == [
        "GitHub:octocat",
        "Mail:me",
        "Shop:shopper",
        "Bank:saver",
        "Cloud:ops",
    ]
    fob_time, codes = admin.codes()
    expect_codes(
        fob_time,
        codes,
        {"GitHub:octocat": GIT, "Mail:me": MAIL, "Shop:shopper": SHOP, "Bank:saver": BANK},
    )
    assert codes["Cloud:ops"] == pyotp.TOTP(b32(CLOUD), digits=8, digest=hashlib.sha256).at(
        fob_time
    )
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

    # A refused press: the holder says no on the fob (a tap of B), nothing changes. The
    # page mirrors the question line for line, with the check value it worked out.
    sim.ok("autopress off")
    page.get_by_label("An otpauth:// URI").check()
    nope = Account("no", GIT, issuer="Nope")
    page.get_by_label("otpauth:// URI", exact=True).fill(build_uri(nope))
    admin.click("Add account")
    sim.wait_for(lambda st: st.get("prompt"), what="the fob's question")
    shown = page.inner_text("#presence")
    assert "Confirm on the fob" in shown
    assert "Add account?\nIssuer: Nope\nName: no" in shown, shown
    want = check.text(check.accounts([nope]))
    assert "The fob must show %s" % want in shown
    assert "Check: " + want in sim.status()["prompt"]  # what the fob draws
    assert "Hold A on the fob until the bar is full to say yes" in shown
    sim.answer(False)
    text = admin.error()
    assert "refused" in text.lower(), text
    assert sim.status()["count"] == 3
    # After a no, a host that has not logged in gets no new question for a while: the
    # page says so as the CLI does, and nothing is asked.
    asked = page.evaluate("() => window.otpfobAdmin.asked")
    admin.click("Add account")
    text = admin.error()
    assert "takes no new question from a program that has not logged in" in text, text
    assert text.endswith("answer on the fob when it asks, or log in first"), text
    assert page.evaluate("() => window.otpfobAdmin.asked") == asked
    sim.ok("jump 31")

    # While the fob asks about another program's change, the page's is turned away at
    # once, in the CLI's words.
    other = another_program(sim)
    outcome = []
    asking = threading.Thread(
        target=lambda: outcome.append(
            pytest.raises(FobError, other.add, Account("theirs", SHOP, issuer="Other")).value.code
        )
    )
    asking.start()
    sim.wait_for(lambda st: st.get("prompt"), what="the other program's question")
    admin.click("Add account")
    text = admin.error()
    assert "the fob is waiting for its holder to answer another request" in text, text
    assert text.endswith("answer the question on the fob (B says no) and try again"), text
    sim.answer(False)
    asking.join(40)
    other.close()
    assert outcome == ["refused"]
    sim.ok("jump 61")

    # The code in the add's reply is checked against this computer's: a fob whose clock
    # runs ahead (the simulator's jumps) is caught, and the message says by how much.
    sim.ok("autopress on")
    admin.click("Add account")
    text = admin.error()
    assert "Nope:no was stored (as #4), but the fob's code" in text, text
    assert "the fob's clock is off by +9" in text and text.endswith("s; set its clock"), text
    admin.click("Delete Nope:no")
    admin.fill_dialog({})
    assert "Deleted Nope:no" in admin.ok()
    assert sim.status()["count"] == 3

    # A password, then a wrong one after reconnecting.
    page.get_by_label("New password").fill("hunter22")
    page.get_by_label("Repeat it").fill("hunter22")
    admin.click("Set password")
    assert "Password set" in admin.ok()
    admin.click("Disconnect")
    assert "Disconnected" in admin.ok()
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


def another_program(sim):
    """Another program on the same data port (otpfob's own client over the simulator's
    TCP port, which is shared as a USB port is)."""
    from otpfob.client import FobClient
    from otpfob.transport import connect

    return FobClient(connect(sim.data_url), timeout=10)


def set_password(admin, page, password, button="Set password"):
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat it").fill(password)
    admin.click(button)
    return admin.ok()


def reconnect(admin, page):
    admin.click("Disconnect")
    assert "Disconnected" in admin.ok()
    return admin.connect("Connect")


def test_logins_report_wrong_tries_and_a_locked_fob_asks_its_holder(admin, page, sim):
    assert "Password set" in set_password(admin, page, "hunter22")
    other = another_program(sim)
    try:
        # Someone guesses twice; the page's session ends (idle), and the automatic login
        # that follows tells the admin, as the CLI does at every login.
        for _ in range(2):
            with pytest.raises(FobError, match="wrong password"):
                other.login("guess")
        sim.ok("jump 301")
        admin.click("Reload the list")
        admin.login("hunter22")
        assert "List reloaded" in admin.ok()
        assert (
            "2 wrong password tries on this fob since your last login: someone may be guessing"
        ) in warnings(page)

        # Before a login the fob tells the page only what a login needs.
        kind, text = reconnect(admin, page)
        assert kind == "ok" and "log in" in text, text
        info = page.inner_text("#info")
        assert "log in to see them" in info and "Flash" not in info

        # Seven more guesses, then the admin's own wrong one stops the logins: the page
        # says what the fob says, and what to do.
        for _ in range(7):
            with pytest.raises(FobError):
                other.login("guess")
        admin.click("Log in")
        admin.login("typo")
        text = admin.error()
        assert "8 wrong passwords: logins are stopped until the holder allows more tries" in text, (
            text
        )
        assert "Log in again: the fob then asks its holder to allow 8 more tries" in text

        # The next login asks the holder on the fob; the page mirrors the question.
        sim.ok("autopress off")
        admin.click("Log in")
        admin.login("hunter22")
        page.wait_for_selector("#presence:not([hidden])", timeout=20000)
        shown = page.inner_text("#presence")
        assert "Allow 8 more password tries?\n8 wrong so far" in shown, shown
        sim.answer(True)
        assert "Logged in" in admin.ok()
        assert "8 wrong password tries on this fob since your last login" in warnings(page)

        # A login that another program's challenge overtakes is tried again: the fob
        # counted nothing, and the admin never sees it.
        calls = []

        def other_asks():
            calls.append(other.request("auth_begin")["tries_left"])

        page.expose_function("otherProgramAsks", other_asks)
        page.evaluate("""() => {
          const t = window.otpfobAdmin.client.transport;
          const write = t.writeLine.bind(t);
          window.sentLines = [];
          t.writeLine = async (line) => {
            const text = new TextDecoder().decode(line);
            window.sentLines.push(text);
            if (text.includes('"cmd":"auth",') && window.sentLines.filter(
                (l) => l.includes('"cmd":"auth",')).length === 1) {
              await window.otherProgramAsks();
            }
            return write(line);
          };
        }""")
        admin.click("Log out")
        assert "Logged out" in admin.ok()
        admin.click("Log in")
        admin.login("hunter22")
        assert "Logged in" in admin.ok()
        sent = page.evaluate("() => window.sentLines")
        assert calls == [8]
        assert sum('"cmd":"auth_begin"' in line for line in sent) == 2
        assert sum('"cmd":"auth",' in line for line in sent) == 2
        assert "wrong password" not in warnings(page)
    finally:
        other.close()


def erase_by_another_program(sim):
    other = another_program(sim)
    try:
        other.reset()  # the holder pressed for it (the simulator's autopress)
    finally:
        other.close()


def test_a_fob_that_lost_its_password_is_not_worked_on(admin, page, sim):
    assert "Password set" in set_password(admin, page, "hunter22")
    admin.click("Reload the list")
    admin.login("hunter22")
    assert "List reloaded" in admin.ok()
    # Someone else erases the fob while the page is connected: the page's next step finds
    # it without a password and stops.
    erase_by_another_program(sim)
    admin.click("Refresh")
    text = admin.error()
    assert (
        "has no password, but a password was typed for it on this page: it may have "
        "been reset (erased) by someone else" in text
    ), text
    assert page.locator("#admin").is_hidden()
    assert page.locator("#downgrade").is_visible()
    # Connecting again stops the same way: this browser remembers it had a password.
    kind, text = admin.connect("Connect")
    assert kind == "error" and "it may have been reset" in text, text
    assert page.locator("#admin").is_hidden()
    # "Accept it without a password" is `otpfob password forget`: from then on it is
    # taken as it is.
    admin.click("Accept it without a password")
    assert "Connected" in admin.ok()
    assert page.locator("#downgrade").is_hidden()
    kind, text = reconnect(admin, page)
    assert kind == "ok", text

    # Protected again, then erased again: "Set a password now" goes on with it this once,
    # to protect it.
    assert "Password set" in set_password(admin, page, "second one")
    erase_by_another_program(sim)
    # A new page in this browser remembers it too (local storage: true or false, nothing
    # secret).
    page.reload()
    stored = json.loads(page.evaluate("() => localStorage.getItem('otpfob.known')"))
    assert list(stored.values()) == [{"password": True}]
    kind, text = admin.connect("Connect")
    assert kind == "error" and "had one when this browser last saw it" in text, text
    admin.click("Set a password now")
    assert "set one below" in admin.ok()
    assert "Password set" in set_password(admin, page, "third one")
    kind, text = reconnect(admin, page)
    assert kind == "ok" and "log in" in text, text


def record_sent_lines(page):
    """From now on the page's client keeps every line it sends in window.sentLines."""
    page.evaluate("""() => {
      const t = window.otpfobAdmin.client.transport;
      const write = t.writeLine.bind(t);
      window.sentLines = [];
      t.writeLine = (line) => {
        window.sentLines.push(new TextDecoder().decode(line));
        return write(line);
      };
    }""")


def test_imports_skip_what_the_fob_cannot_hold_and_their_batches_are_the_pages(
    admin, page, sim, tmp_path
):
    good = Account("a", GIT, issuer="Ex")
    lines = tmp_path / "list.txt"
    lines.write_text(
        "\n".join(
            [
                build_uri(good),
                build_uri(Account("card", BANK, issuer="Bank", kind="hotp", counter=3)),
                "otpauth://totp/Old:md5?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
                build_uri(good),
                "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PX0",
            ]
        )
        + "\n"
    )
    kind, text = admin.import_files([lines], yes=None)
    assert kind == "ok", text
    assert text == "Imported 2 accounts (2 new, 0 replaced); 2 entries skipped (listed above).", (
        text
    )
    shown = warnings(page)
    for line in [
        "Ex:a appears 2 times with the same secret (list.txt line 1 and list.txt line 4); "
        "counted once",
        "skipped Old:md5 (list.txt line 3): algorithm must be one of SHA1, SHA256, SHA512, "
        "STEAM, not 'MD5'",
        "skipped X:y (list.txt line 5): secret is not valid base32: character '0' at "
        "position 16 (did you mean O?)",
    ]:
        assert "Warning: " + line in shown, (line, shown)
    # The fob lists "hotp": the HOTP account goes in with its counter.
    assert not [s for s in shown if "Bank:card" in s], shown
    assert sorted(admin.accounts()) == ["Bank:card", "Ex:a"]

    # An import the fob cannot hold whole (its flash budget) stops at the part that does
    # not fit: the first batch (the fob's batch_max, 100) is stored, the second is not,
    # and the page's abort names that batch.
    record_sent_lines(page)
    big = tmp_path / "big.txt"
    big.write_text(
        "".join(
            build_uri(Account("n%03d" % i + "x" * 60, bytes([i % 256]) * 128, issuer="I" * 64))
            + "\n"
            for i in range(160)
        )
    )
    kind, text = admin.import_files([big], yes=None)
    assert kind == "error" and "the first 100 accounts (whole batches) were stored" in text, text
    assert "full" in text or "room" in text, text
    sent = [
        json.loads(line)
        for line in page.evaluate("() => window.sentLines")
        if '"add_many"' in line or '"abort"' in line
    ]
    parts = [m for m in sent if m["cmd"] == "add_many"]
    tokens = list(dict.fromkeys(m["batch"] for m in parts))
    assert len(tokens) == 2  # two batches, each its own token
    for token in tokens:
        numbers = [m["part"] for m in parts if m["batch"] == token]
        assert len(numbers) > 3 and numbers == list(range(len(numbers)))
    assert sent[-1]["cmd"] == "abort" and sent[-1]["batch"] == tokens[-1]
    assert sim.status()["count"] == 102  # the two imported above and the first batch

    # Codes over USB without a press, once the holder allows it (with a press).
    admin.click("Set clock")
    assert "Set the fob's clock" in admin.ok()
    page.get_by_label("Send codes to the computer without a press").check()
    admin.click("Save settings")
    assert "Changed usb_codes to on" in admin.ok()
    asked = page.evaluate("() => window.otpfobAdmin.asked")
    fob_time, codes = admin.codes()
    expect_codes(fob_time, codes, {"Ex:a": GIT})
    assert page.evaluate("() => window.otpfobAdmin.asked") == asked


def test_the_page_refuses_a_fob_with_older_firmware(page, bridge_server):
    # A protocol-1 fob's data port: it answers hello/info with its version.
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(2)

    def serve():
        while True:
            try:
                conn, _ = lst.accept()
            except OSError:
                return
            buf = b""
            with conn:
                while True:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        rid = json.loads(line).get("id")
                        conn.sendall(
                            json.dumps(
                                {
                                    "id": rid,
                                    "ok": True,
                                    "protocol": 1,
                                    "serial": "0ldf0b",
                                    "password": False,
                                }
                            ).encode()
                            + b"\n"
                        )

    threading.Thread(target=serve, daemon=True).start()
    try:
        srv = bridge_server("socket://127.0.0.1:%d" % lst.getsockname()[1])
        page.goto(srv.url)
        kind, text = AdminPage(page).connect("Connect")
        assert kind == "error"
        assert text == (
            "Error: fob 0ldf0b runs older firmware (protocol 1; this page speaks "
            "2): update it with `otpfob deploy`"
        ), text
        assert page.locator("#admin").is_hidden()
    finally:
        lst.close()
