"""Security on the whole simulated fob: locked USB, update mode, password, presence.

The firmware runs unmodified in `otpfob sim --headless`; the CLI runs as its own process.
"""

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

harness = pytest.importorskip("otpfob.sim.harness")

from otpfob import check as checks  # noqa: E402
from otpfob.otpauth import Account  # noqa: E402

OTPFOB = str(Path(sys.executable).with_name("otpfob"))
SECRET = "N52HAZTPMIQHIZLTOQQHGZLDOJSXIIJB"
FAST = "--iterations=10000"  # each login derives the key once; keep that quick here


def otpfob(url, *args, env=None, timeout=90):
    e = dict(os.environ)
    for k in ("OTPFOB_PORT", "OTPFOB_PASSWORD", "OTPFOB_NEW_PASSWORD"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run(
        [OTPFOB, "--port", url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
        stdin=subprocess.DEVNULL,
    )


def ok(url, *args, env=None):
    r = otpfob(url, *args, env=env)
    assert r.returncode == 0, "otpfob %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def test_a_normal_boot_shows_the_host_only_the_data_channel(sim_factory):
    fob = sim_factory(demo=True)
    st = fob.status()
    assert st["usb_console"] is False and st["usb_drive"] is False
    assert st["screen"] == "code"


def _held_boot(sim_factory, tmp_path):
    fob = sim_factory(tmp_path / "state", demo=True, autopress=False, extra_args=["--hold", "A"])
    st = fob.wait_for(lambda s: s["screen"] == "presence", what="update-mode question")
    assert "erase all accounts" in st["prompt"]
    fob.ok("up A")
    fob.advance(1)
    # Letting go of the held button is not an answer.
    assert fob.status()["screen"] == "presence"
    return fob


def test_update_mode_erases_first_and_then_unlocks_usb(sim_factory, tmp_path):
    fob = _held_boot(sim_factory, tmp_path)
    assert fob.status()["usb_drive"] is False
    fob.answer(True)
    # Status can name the previous boot's screen for a moment after the reset, so wait
    # for the rebooted fob's own: the empty one, as nothing survived the erase.
    st = fob.wait_for(
        lambda s: s["boots"] == 2 and s["firmware"] == "running" and s["screen"] == "empty",
        what="reset into update mode, empty",
    )
    assert st["usb_console"] is True and st["usb_drive"] is True
    names = sorted(p.name for p in (tmp_path / "state").iterdir() if p.suffix == ".bin")
    assert names == ["guard_a.bin", "guard_b.bin", "vault_a.bin", "vault_b.bin"]
    raw = b"".join((tmp_path / "state" / n).read_bytes() for n in names)
    # The demo account is gone from both vault slots.
    assert b"demo@example.com" not in raw and b"12345678901234567890" not in raw


def test_update_mode_refused_keeps_everything_locked(sim_factory, tmp_path):
    fob = _held_boot(sim_factory, tmp_path)
    fob.answer(False)
    st = fob.wait_for(lambda s: s["screen"] == "code", what="code screen")
    assert st["boots"] == 1 and st["usb_drive"] is False and st["usb_console"] is False


def test_update_mode_unanswered_times_out_locked(sim_factory, tmp_path):
    fob = _held_boot(sim_factory, tmp_path)
    fob.advance(31)
    st = fob.wait_for(lambda s: s["screen"] == "code", what="code screen")
    assert st["boots"] == 1 and st["usb_drive"] is False


def test_password_from_the_cli(sim_factory):
    fob = sim_factory(demo=True)
    url = fob.data_url
    r = ok(url, "password", "set", FAST, env={"OTPFOB_NEW_PASSWORD": "hunter2 hunter2"})
    assert "Password set" in r.stdout + r.stderr
    # Locked: info says what a login needs (nothing of what the fob holds), the rest asks
    # for the password.
    info = json.loads(ok(url, "--json", "info").stdout)
    assert info["password"] is True and "accounts" not in info and "tries_left" not in info
    r = otpfob(url, "list")
    assert r.returncode != 0 and "protected by a password" in r.stderr
    # The screen is not the USB side: it goes on showing codes.
    st = fob.status()
    assert st["screen"] == "code" and st["code"] and st["code"].isdigit()
    r = otpfob(url, "--password", "wrong", "list")
    assert r.returncode != 0 and "7 tries left" in r.stderr
    listed = json.loads(
        ok(url, "--json", "list", env={"OTPFOB_PASSWORD": "hunter2 hunter2"}).stdout
    )
    assert [a["name"] for a in listed] == ["demo@example.com"]
    info = json.loads(ok(url, "--json", "info", env={"OTPFOB_PASSWORD": "hunter2 hunter2"}).stdout)
    assert info["tries_left"] == 8 and info["accounts"] == 1
    # Change, then clear.
    ok(
        url,
        "--password",
        "hunter2 hunter2",
        "password",
        "change",
        FAST,
        env={"OTPFOB_NEW_PASSWORD": "correct horse"},
    )
    assert otpfob(url, "--password", "hunter2 hunter2", "list").returncode != 0
    ok(url, "--password", "correct horse", "password", "clear")
    assert json.loads(ok(url, "--json", "info").stdout)["password"] is False
    ok(url, "list")


def test_eight_wrong_passwords_stop_the_logins_and_the_holder_decides(sim_factory):
    fob = sim_factory(demo=True)
    url = fob.data_url
    ok(url, "password", "set", FAST, env={"OTPFOB_NEW_PASSWORD": "right one"})
    for i in range(7):
        r = otpfob(url, "--password", "wrong", "list")
        assert "%d tries left" % (7 - i) in r.stderr
    r = otpfob(url, "--password", "wrong", "list")
    assert r.returncode != 0 and "logins are stopped" in r.stderr
    # Nothing was erased; the next login asks the holder, who allows 8 more.
    t, out = _in_thread(lambda: otpfob(url, "--json", "list", env={"OTPFOB_PASSWORD": "right one"}))
    st = fob.wait_for(lambda s: s["screen"] == "presence", what="unlock question")
    assert st["prompt"] == "Allow 8 more password tries?\n8 wrong so far"
    fob.answer(True)
    t.join(60)
    r = out["r"]
    assert r.returncode == 0, r.stderr
    assert [a["name"] for a in json.loads(r.stdout)] == ["demo@example.com"]
    # The CLI says someone may be guessing.
    assert "8 wrong password tries on this fob since your last login" in r.stderr


def _in_thread(fn):
    out = {}
    t = threading.Thread(target=lambda: out.update(r=fn()), daemon=True)
    t.start()
    return t, out


@pytest.mark.parametrize("answer", ["yes", "no", "timeout"])
def test_add_waits_for_the_button(sim_factory, answer):
    fob = sim_factory(demo=True, autopress=False)
    url = fob.data_url
    t, out = _in_thread(lambda: otpfob(url, "add", "bob", SECRET, "--issuer", "Mail"))
    st = fob.wait_for(lambda s: s["screen"] == "presence", what="presence prompt")
    check = checks.text(checks.accounts([Account("bob", base64.b32decode(SECRET), issuer="Mail")]))
    assert st["prompt"] == "Add account?\nIssuer: Mail\nName: bob\nCheck: " + check
    if answer == "yes":
        fob.answer(True)
    elif answer == "no":
        fob.answer(False)
    else:
        fob.advance(31)
    t.join(60)
    r = out["r"]
    # The CLI names the change and the check value the fob must show.
    assert "Hold A on the fob" in r.stderr and check in r.stderr
    listed = [a["name"] for a in json.loads(ok(url, "--json", "list").stdout)]
    if answer == "yes":
        assert r.returncode == 0 and "bob" in listed
    else:
        assert r.returncode != 0 and "bob" not in listed
        assert ("refused on the fob" if answer == "no" else "nobody answered") in r.stderr


def test_clock_far_back_needs_force(sim_factory):
    fob = sim_factory(demo=True)
    url = fob.data_url
    # The fob saw a time a day ahead of this computer (a clock set wrongly, say)...
    now = fob.status()["rtc_time"]
    fob.clock(int(now) + 86400)
    ok(url, "info")  # a request: the fob records the time it has seen
    fob.clock(int(now))
    r = otpfob(url, "time", "set")
    assert r.returncode != 0 and "behind the latest time the fob has seen" in r.stderr
    ok(url, "time", "set", "--force")
