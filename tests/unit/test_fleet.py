"""Fleet provisioning against fake fobs: users to fobs, the Entra CSV, the manifest, resuming.

The fakes keep what a fob keeps (accounts with their secrets, clock, password) and compute
codes with pyotp, so the host's check (the firmware's OTP engine) is compared with another
implementation. The simulator end-to-end tests are in tests/sim/test_fleet_e2e.py.
"""

import base64
import csv
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pyotp
import pytest
from click.testing import CliRunner

from otpfob import fleet
from otpfob.cli import main
from otpfob.client import FobError
from otpfob.transport import TransportError


class FakeFob:
    """A fob as the fleet code sees it through FobClient's methods."""

    def __init__(self, serial, accounts=(), board="Raspberry Pi Pico", password=None):
        self.serial = serial
        self.board = board
        self.accounts = [dict(a) for a in accounts]  # issuer, name, secret (bytes)
        self.offset = None  # clock: None = not set
        self.password = password
        self.logged_in = False
        self.add_presence = True
        self.calls = []
        self.fail = {}  # method -> exception, raised once
        self.prompts = 0
        self.on_prompt = None
        self.slow = 0  # seconds `info` takes

    # plumbing
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.logged_in = False

    def _call(self, name, changes=False):
        self.calls.append(name)
        if name in self.fail:
            raise self.fail.pop(name)
        if self.password is not None and not self.logged_in and name not in ("info",):
            raise FobError("auth_required", "log in first")
        if changes and self.on_prompt is not None:
            self.prompts += 1
            self.on_prompt("confirm on the fob")

    # commands
    def info(self):
        self._call("info")
        time.sleep(self.slow)
        return {
            "serial": self.serial,
            "board": self.board,
            "accounts": len(self.accounts),
            "password": self.password is not None,
            "time": None if self.offset is None else int(time.time() + self.offset),
        }

    def time_get(self):
        self._call("time_get")
        return {"time": None if self.offset is None else int(time.time() + self.offset)}

    def time_set(self, epoch):
        # As the firmware: the first set of a clock that is not set asks the holder.
        self._call("time_set", changes=self.offset is None)
        self.offset = epoch - time.time()
        return {"time": epoch}

    def login(self, password):
        self.calls.append("login")
        if password != self.password:
            raise FobError("bad_password", "wrong password, 9 tries left")
        self.logged_in = True

    def password_set(self, password, iterations=None):
        self._call("password_set", changes=True)
        self.password = password

    def settings_set(self, add_presence=None):
        # As the firmware: turning adds' press off weakens a check, so it asks.
        self._call("settings_set", changes=add_presence is False)
        self.add_presence = add_presence

    def list(self):
        self._call("list")
        return {
            "accounts": [
                {"index": i, "issuer": a["issuer"], "name": a["name"]}
                for i, a in enumerate(self.accounts)
            ]
        }

    def add(self, account, overwrite=False):
        self._call("add", changes=self.add_presence)
        for a in self.accounts:
            if (a["issuer"].lower(), a["name"].lower()) == (
                account.issuer.lower(),
                account.name.lower(),
            ):
                raise FobError("duplicate", "an account for %s already exists" % account.label)
        self.accounts.append(
            {"issuer": account.issuer, "name": account.name, "secret": account.secret}
        )
        # As the firmware does: the new account's code at the fob's time, in the reply.
        index = len(self.accounts) - 1
        out = {"index": index, "replaced": False}
        out.update(self.code_of(index))
        return out

    def code_of(self, index):
        if self.offset is None:
            return {"code": None, "time": None, "code_error": "clock_not_set"}
        now = int(time.time() + self.offset)
        totp = pyotp.TOTP(base64.b32encode(self.accounts[index]["secret"]).decode())
        return {"code": totp.at(now), "time": now}

    def delete(self, index=None, issuer=None, name=None):
        self._call("delete", changes=True)
        for i, a in enumerate(self.accounts):
            if (a["issuer"], a["name"]) == (issuer, name):
                del self.accounts[i]
                return {"deleted": {"index": i, "issuer": issuer, "name": name}}
        raise FobError("not_found", "no such account")

    def code(self, index=None):
        self._call("code")
        if self.offset is None:
            raise FobError("clock_not_set", "clock not set")
        now = int(time.time() + self.offset)
        a = self.accounts[index]
        totp = pyotp.TOTP(base64.b32encode(a["secret"]).decode())
        return {
            "time": now,
            "codes": [
                {
                    "index": index,
                    "issuer": a["issuer"],
                    "name": a["name"],
                    "code": totp.at(now),
                    "seconds_left": 30 - now % 30,
                }
            ],
        }

    def secret_of(self, issuer, name):
        return next(
            a["secret"] for a in self.accounts if (a["issuer"], a["name"]) == (issuer, name)
        )


class SetupFob(FakeFob):
    """A fob whose firmware knows `setup` (hello's capabilities say so): a fresh fob's
    clock, password and accounts under one press."""

    def info(self):
        out = super().info()
        out["capabilities"] = ["hello", "info", "time_set", "password_set", "add", "setup"]
        return out

    def setup(self, epoch=None, password=None, accounts=()):
        self._call("setup")
        if self.password is not None or self.accounts:
            raise FobError("not_fresh", "setup is only for a fresh fob")
        if self.on_prompt is not None:
            self.prompts += 1
            self.on_prompt("confirm on the fob")
        self.offset = 0.0
        if password is not None:
            self.password = password
        for a in accounts:
            self.accounts.append({"issuer": a.issuer, "name": a.name, "secret": a.secret})
        now = self.code_of(0)
        return {
            "time": now["time"],
            "password": password is not None,
            "added": len(accounts),
            "indexes": list(range(len(accounts))),
            "codes": [self.code_of(i)["code"] for i in range(len(accounts))],
        }


@pytest.fixture(autouse=True)
def quick_clock(monkeypatch):
    """`set_clock` waits for a whole second; the fakes do not need that."""
    monkeypatch.setattr(
        fleet.provisioning, "set_clock", lambda client: client.time_set(int(time.time()))
    )


def make_fleet(tmp_path, fobs, users, **kw):
    def connect(port, on_prompt):
        fob = fobs[port]
        if isinstance(fob, Exception):
            raise fob
        fob.on_prompt = on_prompt
        return fob

    kw.setdefault("issuer", "Contoso")
    kw.setdefault("out", tmp_path / "entra.csv")
    return fleet.Fleet(users, connect=connect, **kw)


def run_ports(tmp_path, fobs, users, ports=None, **kw):
    run = make_fleet(tmp_path, fobs, users, **kw)
    try:
        run.run_ports(ports or list(fobs))
    finally:
        run.close()
    return run


def rows(tmp_path):
    with open(tmp_path / "entra.csv", newline="") as f:
        return list(csv.reader(f))


def manifest(tmp_path):
    return json.loads((tmp_path / "entra.csv.manifest.json").read_text())["fobs"]


def fobs_named(*serials, **kw):
    return {"port%d" % i: FakeFob(s, **kw) for i, s in enumerate(serials)}


USERS = ["alice@contoso.example", "bob@contoso.example", "carol@contoso.example"]


# --- the users file -----------------------------------------------------------------------


def test_users_come_from_the_upn_column(tmp_path):
    f = tmp_path / "users.csv"
    f.write_bytes("\ufeffName,UPN\nAlice,alice@x.example\n,\nBob, bob@x.example \n".encode("utf-8"))
    assert fleet.read_users(f) == ["alice@x.example", "bob@x.example"]


def test_users_file_problems_are_named(tmp_path):
    f = tmp_path / "users.csv"
    f.write_text("mail\nalice@x.example\n")
    with pytest.raises(fleet.FleetError, match="no upn column"):
        fleet.read_users(f)
    f.write_text("upn\nalice@x.example\nbob@x.example\nALICE@x.example\n")
    with pytest.raises(fleet.FleetError, match="line 4: ALICE@x.example is already on line 2"):
        fleet.read_users(f)
    f.write_text("upn\n%s\n" % ("a" * 65))
    with pytest.raises(fleet.FleetError, match="line 2: upn is longer than 64 bytes"):
        fleet.read_users(f)


def test_the_example_users_file_reads():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "users.csv"
    users = fleet.read_users(example)
    assert len(users) >= 3 and all("@" in u for u in users)


# --- a run --------------------------------------------------------------------------------


def test_each_user_gets_the_next_fob_and_a_row_in_the_entra_csv(tmp_path):
    fobs = fobs_named("aa01", "aa02", "aa03")
    fobs["port0"].slow = 0.3  # the first fob answers last
    run = run_ports(tmp_path, fobs, USERS)

    assert [o.result for o in run.outcomes] == ["done"] * 3
    table = rows(tmp_path)
    assert table[0] == [
        "upn",
        "serial number",
        "secret key",
        "time interval",
        "manufacturer",
        "model",
    ]
    # In the order the fobs were named, although they ran at the same time.
    assert sorted((r[1], r[0]) for r in table[1:]) == [
        ("aa01", USERS[0]),
        ("aa02", USERS[1]),
        ("aa03", USERS[2]),
    ]
    for upn, serial, key, interval, maker, model in table[1:]:
        fob = next(f for f in fobs.values() if f.serial == serial)
        # Exactly the secret the fob holds: 160 random bits, base32 without padding.
        assert len(key) == 32 and "=" not in key
        assert base64.b32decode(key) == fob.secret_of("Contoso", upn)
        assert (interval, maker, model) == ("30", "otpfob", "Raspberry Pi Pico")
        assert fob.offset is not None and abs(fob.offset) < 2
    secrets_ = {r[2] for r in table[1:]}
    assert len(secrets_) == 3


def test_the_csv_is_private_and_the_manifest_holds_no_secret(tmp_path):
    run_ports(tmp_path, fobs_named("aa01", "aa02"), USERS[:2])
    mode = stat.S_IMODE(os.stat(tmp_path / "entra.csv").st_mode)
    assert mode == 0o600
    text = (tmp_path / "entra.csv.manifest.json").read_text()
    for r in rows(tmp_path)[1:]:
        assert r[2] not in text and r[2].lower() not in text
    entries = manifest(tmp_path)
    assert {s: (e["upn"], e["state"]) for s, e in entries.items()} == {
        "aa01": (USERS[0], "done"),
        "aa02": (USERS[1], "done"),
    }
    assert set(entries["aa01"]) == {"upn", "issuer", "state", "time", "port"}
    # No temporary files left next to them.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entra.csv", "entra.csv.manifest.json"]


def test_a_rerun_never_appends_secrets_through_a_link_put_in_place_of_the_csv(tmp_path):
    run_ports(tmp_path, fobs_named("aa01"), USERS[:1])
    elsewhere = tmp_path / "elsewhere.csv"
    os.replace(tmp_path / "entra.csv", elsewhere)
    before = elsewhere.read_bytes()
    os.symlink(elsewhere, tmp_path / "entra.csv")
    with pytest.raises(fleet.FleetError, match="link"):
        fleet.SecretsCsv(tmp_path / "entra.csv", {"aa01"})
    assert elsewhere.read_bytes() == before


def test_a_rerun_reopens_the_csv_without_following_a_link(tmp_path, monkeypatch):
    # The link check and the reopen are two steps: a link swapped in between is refused by
    # the reopen itself (O_NOFOLLOW), so nothing is appended through it.
    run_ports(tmp_path, fobs_named("aa01"), USERS[:1])
    target = tmp_path / "target.csv"
    target.write_text("not yours\n")
    real_keep = fleet.SecretsCsv._keep_only

    def swap_after_check(self, keep):
        real_keep(self, keep)
        os.remove(self.path)
        os.symlink(target, self.path)

    monkeypatch.setattr(fleet.SecretsCsv, "_keep_only", swap_after_check)
    with pytest.raises(fleet.FleetError, match="not a link"):
        fleet.SecretsCsv(tmp_path / "entra.csv", {"aa01"})
    assert target.read_text() == "not yours\n"


def test_a_rerun_skips_done_users_and_never_touches_a_done_fob(tmp_path):
    fobs = fobs_named("aa01", "aa02")
    run_ports(tmp_path, fobs, USERS[:2])
    before = rows(tmp_path)
    for fob in fobs.values():
        fob.calls.clear()
    fobs["port2"] = FakeFob("aa03")
    run = run_ports(tmp_path, fobs, USERS)
    assert [(o.serial, o.result, o.upn) for o in sorted(run.outcomes, key=lambda o: o.port)] == [
        ("aa01", "skipped", USERS[0]),
        ("aa02", "skipped", USERS[1]),
        ("aa03", "done", USERS[2]),
    ]
    assert run.already == USERS[:2] and run.pending == []
    assert fobs["port0"].calls == ["info"] and fobs["port1"].calls == ["info"]
    assert rows(tmp_path)[:3] == before and rows(tmp_path)[3][:2] == [USERS[2], "aa03"]


def test_more_fobs_than_users_and_more_users_than_fobs(tmp_path):
    run = run_ports(tmp_path, fobs_named("aa01", "aa02", "aa03"), USERS[:2])
    assert sorted(o.result for o in run.outcomes) == ["done", "done", "skipped"]
    assert [o.detail for o in run.outcomes if o.result == "skipped"] == ["no users left"]

    second = tmp_path / "second"
    second.mkdir()
    run = run_ports(second, fobs_named("bb01"), USERS)
    assert run.pending == USERS[1:]


def test_a_fob_with_accounts_is_refused_unless_forced(tmp_path):
    mine = {"issuer": "Bank", "name": "me", "secret": b"k" * 20}
    fobs = {"port0": FakeFob("aa01", accounts=[mine])}
    run = run_ports(tmp_path, fobs, USERS[:1])
    assert run.outcomes[0].result == "failed"
    assert run.outcomes[0].detail.startswith("fob already has accounts (1)")
    assert fobs["port0"].calls == ["info"] and run.pending == USERS[:1]
    assert rows(tmp_path) == [list(fleet.ENTRA_HEADER)]

    run = run_ports(tmp_path, fobs, USERS[:1], force=True)
    assert run.outcomes[0].result == "done"
    assert [a["name"] for a in fobs["port0"].accounts] == ["me", USERS[0]]


def test_the_same_fob_on_two_ports_is_provisioned_once(tmp_path):
    fob = FakeFob("aa01")
    run = run_ports(tmp_path, {"port0": fob, "port1": fob}, USERS[:2])
    assert sorted(o.result for o in run.outcomes) == ["done", "skipped"]
    assert len(fob.accounts) == 1 and len(rows(tmp_path)) == 2


def test_a_fob_that_cannot_be_opened_fails_with_the_reason(tmp_path):
    fobs = {"port0": TransportError("busy", "fob busy: port0 is in use"), "port1": FakeFob("aa02")}
    run = run_ports(tmp_path, fobs, USERS[:1])
    out = {o.port: o for o in run.outcomes}
    assert (out["port0"].result, out["port0"].detail) == ("failed", "fob busy: port0 is in use")
    assert (out["port1"].result, out["port1"].upn) == ("done", USERS[0])


def test_a_code_mismatch_writes_no_row(tmp_path):
    fob = FakeFob("aa01")
    real_add = fob.add

    def add_with_a_flipped_bit(account, overwrite=False):
        reply = real_add(account, overwrite)
        fob.accounts[-1]["secret"] = bytes([account.secret[0] ^ 1]) + account.secret[1:]
        reply.update(fob.code_of(len(fob.accounts) - 1))
        return reply

    fob.add = add_with_a_flipped_bit
    run = run_ports(tmp_path, {"port0": fob}, USERS[:1])
    assert run.outcomes[0].result == "failed"
    assert "differs from this computer's" in run.outcomes[0].detail
    assert rows(tmp_path) == [list(fleet.ENTRA_HEADER)]
    assert manifest(tmp_path)["aa01"]["state"] == "started"


# --- interrupted runs ---------------------------------------------------------------------


def test_an_interrupted_fob_is_redone_cleanly(tmp_path):
    fob = FakeFob("aa01")
    fob.fail["list"] = TransportError("io", "lost the connection to the fob (cable)")
    run = run_ports(tmp_path, {"port0": fob}, USERS[:1])
    assert (run.outcomes[0].result, run.outcomes[0].detail) == (
        "failed",
        "lost the connection to the fob (cable)",
    )
    assert manifest(tmp_path)["aa01"]["state"] == "started"
    assert len(fob.accounts) == 1 and run.pending == USERS[:1]
    first = fob.accounts[0]["secret"]

    run = run_ports(tmp_path, {"port0": fob}, USERS[:1])
    assert run.outcomes[0].result == "done"
    # The half-made account was deleted, a new one (new secret) added, and only it is listed.
    assert "delete" in fob.calls
    assert [(a["issuer"], a["name"]) for a in fob.accounts] == [("Contoso", USERS[0])]
    table = rows(tmp_path)
    assert len(table) == 2 and base64.b32decode(table[1][2]) == fob.accounts[0]["secret"]
    assert fob.accounts[0]["secret"] != first


def test_a_crash_between_the_row_and_the_manifest_drops_the_row_and_redoes(tmp_path, monkeypatch):
    fob = FakeFob("aa01")
    real_mark = fleet.Manifest.mark

    def crash_on_done(self, serial, **fields):
        if fields.get("state") == "done":
            raise OSError("disk full")
        return real_mark(self, serial, **fields)

    monkeypatch.setattr(fleet.Manifest, "mark", crash_on_done)
    run = run_ports(tmp_path, {"port0": fob}, USERS[:1])
    assert run.outcomes[0].result == "failed"
    assert len(rows(tmp_path)) == 2  # the row made it, the manifest did not
    monkeypatch.setattr(fleet.Manifest, "mark", real_mark)

    run = make_fleet(tmp_path, {"port0": fob}, USERS[:1])
    assert run.csv.dropped == [USERS[0]]
    assert rows(tmp_path) == [list(fleet.ENTRA_HEADER)]
    run.run_ports(["port0"])
    run.close()
    table = rows(tmp_path)
    assert len(table) == 2 and base64.b32decode(table[1][2]) == fob.secret_of("Contoso", USERS[0])
    assert stat.S_IMODE(os.stat(tmp_path / "entra.csv").st_mode) == 0o600


def test_an_output_file_from_elsewhere_is_not_reused(tmp_path):
    (tmp_path / "entra.csv").write_text("something else\n")
    with pytest.raises(fleet.FleetError, match="not from an earlier run"):
        make_fleet(tmp_path, {}, USERS)
    assert (tmp_path / "entra.csv").read_text() == "something else\n"


# --- password and presence ----------------------------------------------------------------


@pytest.mark.parametrize("password", [None, "s3cret pass"])
def test_a_fresh_fob_with_setup_asks_once(tmp_path, password):
    fobs = {"port0": SetupFob("aa01"), "port1": SetupFob("aa02")}
    fobs["port1"].password = "s3cret pass"  # set by an earlier, interrupted run
    fobs["port1"].offset = 0.0
    ports = ["port0", "port1"] if password else ["port0"]
    said = []

    class Recorder(fleet.Reporter):
        def say(self, text):
            said.append(text)

    run = run_ports(tmp_path, fobs, USERS[:2], ports, password=password, reporter=Recorder())
    assert [o.result for o in run.outcomes] == ["done"] * len(ports)
    assert fobs["port0"].prompts == 1 and said.count("hold A on fob aa01 to confirm") == 1
    assert fobs["port0"].password == password
    calls = fobs["port0"].calls
    assert "setup" in calls
    for single in ("time_set", "password_set", "add"):
        assert single not in calls
    # The fob that is not fresh (a password) takes the single requests: its add's press.
    if password:
        assert "setup" not in fobs["port1"].calls and fobs["port1"].prompts == 1
    # The row is the fob's account and code.
    for row in rows(tmp_path)[1:]:
        fob = next(f for f in fobs.values() if f.serial == row[1])
        assert base64.b32decode(row[2]) == fob.secret_of("Contoso", row[0])


def test_a_fresh_fob_whose_setup_fails_records_nothing_and_is_redone(tmp_path):
    fobs = {"port0": SetupFob("aa01")}
    fobs["port0"].fail["setup"] = FobError("refused", "the holder said no")
    run = run_ports(tmp_path, fobs, USERS[:1])
    assert [o.result for o in run.outcomes] == ["failed"]
    assert manifest(tmp_path)["aa01"]["state"] == "started" and rows(tmp_path)[1:] == []
    run = run_ports(tmp_path, fobs, USERS[:1])
    assert [o.result for o in run.outcomes] == ["done"] and fobs["port0"].prompts == 1


def test_a_fresh_fob_asks_once_each_for_the_clock_the_password_and_the_add(tmp_path):
    # Firmware without setup (its capabilities lack it): the single requests.
    fobs = fobs_named("aa01", "aa02")
    fobs["port1"].password = "s3cret pass"  # set by an earlier, interrupted run
    fobs["port1"].offset = 0.0  # and its clock with it
    said = []

    class Recorder(fleet.Reporter):
        def say(self, text):
            said.append(text)

    run = run_ports(tmp_path, fobs, USERS[:2], password="s3cret pass", reporter=Recorder())
    assert [o.result for o in run.outcomes] == ["done", "done"]
    for fob in fobs.values():
        assert fob.password == "s3cret pass" and fob.add_presence is True
    # Three presses on the fresh fob (docs/admin.md says so); the other asks only for its add.
    assert fobs["port0"].prompts == 3 and fobs["port1"].prompts == 1
    assert said.count("hold A on fob aa01 to confirm") == 3
    calls = fobs["port0"].calls
    assert calls.index("time_set") < calls.index("password_set") < calls.index("add")
    # Adds' press is never turned off: that would ask a press of its own.
    assert "settings_set" not in calls + fobs["port1"].calls


def test_a_fresh_fob_without_a_password_asks_twice(tmp_path):
    # Firmware without setup, as above.
    fobs = fobs_named("aa01")
    run = run_ports(tmp_path, fobs, USERS[:1])
    assert [o.result for o in run.outcomes] == ["done"]
    assert fobs["port0"].prompts == 2  # the first clock set and the add
    assert "password_set" not in fobs["port0"].calls


def test_a_rerun_turns_adds_press_back_on_where_an_earlier_version_left_it_off(tmp_path):
    fob = FakeFob("aa01", password="s3cret pass")
    fob.offset, fob.add_presence = 0.0, False
    fleet.Manifest(tmp_path / "entra.csv.manifest.json").mark(
        "aa01", upn=USERS[0], issuer="Contoso", state="started", port="port0"
    )
    run = run_ports(tmp_path, {"port0": fob}, USERS[:1], password="s3cret pass")
    assert [o.result for o in run.outcomes] == ["done"]
    assert fob.add_presence is True
    assert fob.calls.index("settings_set") < fob.calls.index("add")


def test_a_fob_with_a_password_needs_the_password_file(tmp_path):
    fobs = {"port0": FakeFob("aa01", password="theirs")}
    run = run_ports(tmp_path, fobs, USERS[:1])
    assert "--password-file" in run.outcomes[0].detail
    run = run_ports(tmp_path, fobs, USERS[:1], password="mine")
    assert (run.outcomes[0].result, run.outcomes[0].detail) == (
        "failed",
        "wrong password, 9 tries left",
    )
    assert fobs["port0"].accounts == []


def test_presence_watch_reports_interim_lines_and_passes_everything_on():
    class Lines:
        def __init__(self, lines):
            self.lines = list(lines)

        def read_line(self, timeout):
            return self.lines.pop(0) if self.lines else None

    prompts = []
    inner = Lines(
        [
            b'{"id": 5, "pending": "presence", "prompt": "add Contoso:alice?"}',
            b'{"id": 5, "ok": true}',
            b'not json "pending"',
        ]
    )
    watch = fleet.PresenceWatch(inner, lambda prompt, check: prompts.append(prompt))
    got = [watch.read_line(1) for _ in range(4)]
    assert got[1] == b'{"id": 5, "ok": true}' and got[3] is None
    assert prompts == ["add Contoso:alice?"]


# --- fobs as they are plugged in ----------------------------------------------------------


class Port:
    def __init__(self, device):
        self.device = device
        self.interface = "CircuitPython CDC2 data"


def test_discovery_takes_fobs_as_they_are_plugged_in(tmp_path):
    fobs = fobs_named("aa01", "aa02", "aa03")
    # What the port list shows, poll after poll: one fob, then two more on a hub, then the
    # first is unplugged and a done fob stays plugged in (it must not be redone).
    timeline = [[], ["port0"], ["port0", "port1", "port2"], ["port1", "port2"]]
    polls = []

    def lister():
        polls.append(1)
        return [Port(d) for d in timeline[min(len(polls) - 1, len(timeline) - 1)]]

    run = make_fleet(tmp_path, fobs, USERS)
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)  # a hung test ends; the asserts then fail
    timer.start()
    try:
        run.run_discovery(list_ports=lister, stop=stop, poll=0.01)
    finally:
        timer.cancel()
        run.close()
    assert not stop.is_set() and run.pending == []
    assert sorted((o.serial, o.result) for o in run.outcomes) == [
        ("aa01", "done"),
        ("aa02", "done"),
        ("aa03", "done"),
    ]
    assert all(f.calls.count("add") == 1 for f in fobs.values())
    assert len(rows(tmp_path)) == 4


def test_discovery_stops_when_asked(tmp_path):
    run = make_fleet(tmp_path, {}, USERS)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    t0 = time.monotonic()
    run.run_discovery(list_ports=lambda: [], stop=stop, poll=0.01)
    run.close()
    assert time.monotonic() - t0 < 5 and run.pending == USERS and run.outcomes == []


# --- the command --------------------------------------------------------------------------


def test_fleet_help_loads_nothing_heavy():
    code = textwrap.dedent("""
        import json, sys
        from otpfob.cli import main
        try:
            main(["fleet", "provision", "--help"], standalone_mode=False)
        except BaseException:
            pass
        sys.__stdout__.write("\\n" + json.dumps(sorted(sys.modules)))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    mods = set(json.loads(out.strip().splitlines()[-1]))
    assert "otpfob.fleet" in mods
    assert not {m for m in mods if m.split(".")[0] in ("rich", "serial")}


def test_the_command_reports_a_bad_users_file(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("mail\nx@y.example\n")
    result = CliRunner().invoke(
        main,
        [
            "fleet",
            "provision",
            "--users",
            str(users),
            "--issuer",
            "Contoso",
            "--out",
            str(tmp_path / "out.csv"),
            "--fob",
            "socket://x:1",
        ],
    )
    assert result.exit_code == 1
    assert "no upn column" in result.output
    assert not (tmp_path / "out.csv").exists()


# --- PSKC out, and both files read back by `otpfob import` ---------------------------------


def _codes_match(accounts, fobs):
    """Each imported account holds the secret its fob holds, and its code is pyotp's."""
    from fob import otp

    for a in accounts:
        fob = next(f for f in fobs.values() if any(x["name"] == a.name for x in f.accounts))
        secret = fob.secret_of("Contoso", a.name)
        assert a.secret == secret
        t = 1800000000
        assert otp.totp(a.secret, t) == pyotp.TOTP(base64.b32encode(secret)).at(t)


def test_pskc_out_with_a_password_reads_back_and_resumes(tmp_path):
    from otpfob.importers import Passwords, WrongPassword, collect

    out = tmp_path / "tokens.pskc"
    fobs = fobs_named("aa01", "aa02")
    run = run_ports(
        tmp_path, fobs, USERS[:2], out=out, out_format="pskc", pskc_password="pskc pass"
    )
    assert [o.result for o in run.outcomes] == ["done", "done"]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text()
    assert "pbkdf2" in text and "PlainValue>" in text  # counters/intervals are plain
    for f in fobs.values():
        assert base64.b64encode(f.accounts[0]["secret"]).decode() not in text
    got = collect([("file", str(out))], Passwords("pskc pass"))
    assert sorted(a.label for a, _ in got.items) == sorted("Contoso:" + u for u in USERS[:2])
    _codes_match([a for a, _ in got.items], fobs)
    with pytest.raises(WrongPassword):
        collect([("file", str(out))], Passwords("other"))
    # A rerun with one more fob keeps the done tokens and adds the new one.
    fobs["port2"] = FakeFob("aa03")
    run_ports(tmp_path, fobs, USERS, out=out, out_format="pskc", pskc_password="pskc pass")
    got = collect([("file", str(out))], Passwords("pskc pass"))
    assert len(got.items) == 3
    _codes_match([a for a, _ in got.items], fobs)
    with pytest.raises(fleet.FleetError, match="cannot be read"):
        make_fleet(tmp_path, fobs, USERS, out=out, out_format="pskc", pskc_password="wrong")


def test_pskc_out_with_a_preshared_key_and_without_any(tmp_path):
    from otpfob.importers import Passwords, collect

    key = bytes(range(16))
    out = tmp_path / "psk.pskc"
    fobs = fobs_named("aa01")
    run_ports(tmp_path, fobs, USERS[:1], out=out, out_format="pskc", pskc_key=key)
    got = collect([("file", str(out))], Passwords(key=key))
    _codes_match([a for a, _ in got.items], fobs)
    with pytest.raises(fleet.FleetError, match="--pskc-password-file or --pskc-key-file"):
        make_fleet(tmp_path, fobs, USERS[:1], out=tmp_path / "x.pskc", out_format="pskc")


def test_the_entra_csv_reads_back(tmp_path):
    from otpfob.importers import collect

    fobs = fobs_named("aa01", "aa02")
    run_ports(tmp_path, fobs, USERS[:2])
    got = collect([("file", str(tmp_path / "entra.csv"))])
    assert sorted(a.name for a, _ in got.items) == sorted(USERS[:2])
    for a, _ in got.items:
        fob = next(f for f in fobs.values() if f.accounts[0]["name"] == a.name)
        assert a.secret == fob.accounts[0]["secret"] and a.issuer == "otpfob"


def test_the_command_wants_a_password_or_key_for_pskc(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("upn\nx@y.example\n")
    base = [
        "fleet",
        "provision",
        "--users",
        str(users),
        "--issuer",
        "Contoso",
        "--out",
        str(tmp_path / "out.pskc"),
        "--fob",
        "socket://127.0.0.1:1",
    ]
    result = CliRunner().invoke(main, base + ["--format", "pskc"])
    assert result.exit_code == 1 and "--pskc-password-file or --pskc-key-file" in result.output
    key = tmp_path / "key.hex"
    key.write_text("0011")
    result = CliRunner().invoke(main, base + ["--format", "pskc", "--pskc-key-file", str(key)])
    assert result.exit_code == 1 and "holds 2 bytes" in result.output
    result = CliRunner().invoke(main, base + ["--pskc-key-file", str(key)])
    assert result.exit_code == 1 and "go with --format pskc" in result.output
    assert not (tmp_path / "out.pskc").exists()
