"""`otpfob fleet provision` against several simulated fobs at once.

Each simulator runs the real firmware; the CLI reaches them over socket:// URLs exactly as
it reaches USB ports. Every simulator has autopress on, a user who approves the fob's
"press the button" prompts.
"""

import base64
import csv
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyotp
import pytest

from otpfob import fleet
from otpfob.client import FobClient
from otpfob.otpauth import Account
from otpfob.transport import connect

harness = pytest.importorskip("otpfob.sim.harness")

OTPFOB = str(Path(sys.executable).with_name("otpfob"))
OLD_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
USERS = [
    "alice@contoso.example",
    "bob@contoso.example",
    "carol@contoso.example",
    "dave@contoso.example",
]


def otpfob(*args, timeout=90):
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    # Wide enough that rich never breaks a long temporary path inside a message.
    env["COLUMNS"] = "1000"
    return subprocess.run([OTPFOB, *args], capture_output=True, text=True, timeout=timeout, env=env)


def provision(tmp_path, users, urls, *extra):
    users_file = tmp_path / "users.csv"
    users_file.write_text("upn,name\n" + "".join("%s,someone\n" % u for u in users))
    args = [
        "--json",
        "fleet",
        "provision",
        "--users",
        str(users_file),
        "--issuer",
        "Contoso",
        "--out",
        str(tmp_path / "entra.csv"),
        *extra,
    ]
    for url in urls:
        args += ["--fob", url]
    r = otpfob(*args)
    return r, json.loads(r.stdout) if r.stdout.strip() else None


def csv_rows(tmp_path):
    with open(tmp_path / "entra.csv", newline="") as f:
        return list(csv.DictReader(f))


def fob_codes(url, *login):
    r = otpfob("--port", url, *login, "--json", "code")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def sims(tmp_path):
    fobs = [harness.SimProcess(tmp_path / ("fob%d" % i), autopress=True) for i in range(3)]
    try:
        for f in fobs:
            f.start()
        yield fobs
    finally:
        for f in fobs:
            if f.running:
                f.stop()


def test_three_fobs_at_once_then_a_rerun_that_changes_nothing(sims, tmp_path):
    urls = [f.data_url for f in sims]
    r, out = provision(tmp_path, USERS[:3], urls)
    assert r.returncode == 0, r.stderr
    assert out["done"] == 3 and out["pending"] == []
    # One press a fresh fob: its clock and account under one question (setup).
    assert r.stderr.count("hold A on fob") == 3, r.stderr
    for o in out["fobs"]:
        assert r.stderr.count("hold A on fob %s " % o["serial"]) == 1, r.stderr
    by_port = {o["port"]: o for o in out["fobs"]}
    assert [by_port[u]["upn"] for u in urls] == USERS[:3]  # in the order named
    assert "entra.csv holds the tokens' secret keys" in " ".join(r.stderr.split())
    assert stat.S_IMODE(os.stat(tmp_path / "entra.csv").st_mode) == 0o600

    rows = csv_rows(tmp_path)
    assert list(rows[0]) == list(fleet.ENTRA_HEADER)
    manifest = (tmp_path / "entra.csv.manifest.json").read_text()
    for url, fob in zip(urls, sims, strict=True):
        row = next(x for x in rows if x["serial number"] == by_port[url]["serial"])
        assert row["upn"] == by_port[url]["upn"]
        assert (row["time interval"], row["manufacturer"], row["model"]) == (
            "30",
            "otpfob",
            "otpfob simulator",
        )
        assert len(base64.b32decode(row["secret key"])) == 20
        assert row["secret key"] not in manifest
        # The fob shows exactly the code the CSV's secret gives, at the fob's own time.
        [entry] = fob_codes(url)
        assert (entry["issuer"], entry["name"]) == ("Contoso", row["upn"])
        assert entry["code"] == pyotp.TOTP(row["secret key"]).at(entry["time"])
        assert fob.status()["rtc_lost_power"] is False

    # Again, with one more user: the done fobs are left alone, dave waits for a fob.
    before = (tmp_path / "entra.csv").read_bytes()
    r, out = provision(tmp_path, USERS, urls)
    assert r.returncode == 0, r.stderr
    assert sorted(o["result"] for o in out["fobs"]) == ["skipped"] * 3
    assert out["already_done"] == USERS[:3] and out["pending"] == USERS[3:]
    assert (tmp_path / "entra.csv").read_bytes() == before
    for url in urls:
        assert len(fob_codes(url)) == 1


def test_a_fob_in_use_is_refused_and_an_unfinished_one_is_redone(tmp_path):
    with (
        harness.SimProcess(tmp_path / "used", demo=True, autopress=True) as used,
        harness.SimProcess(tmp_path / "new", autopress=True) as new,
    ):
        r, out = provision(tmp_path, USERS[:1], [used.data_url])
        assert r.returncode == 1
        [o] = out["fobs"]
        assert o["result"] == "failed" and o["detail"].startswith("fob already has accounts")
        assert csv_rows(tmp_path) == []

        # A run that died after adding the account, before its row was written: the manifest
        # says "started". The rerun deletes that account and adds one with a new secret.
        with FobClient(connect(new.data_url)) as client:
            serial = client.info()["serial"]
            client.time_set(int(time.time()))
            client.add(Account(USERS[0], base64.b32decode(OLD_SECRET), issuer="Contoso"))
        m = fleet.Manifest(tmp_path / "entra.csv.manifest.json")
        m.mark(serial, upn=USERS[0], issuer="Contoso", state="started", port=new.data_url)
        r, out = provision(tmp_path, USERS[:1], [new.data_url])
        assert r.returncode == 0, r.stderr
        [row] = csv_rows(tmp_path)
        assert row["secret key"] != OLD_SECRET
        [entry] = fob_codes(new.data_url)
        assert entry["code"] == pyotp.TOTP(row["secret key"]).at(entry["time"])


def test_a_setup_cut_after_the_password_is_finished_by_the_rerun(tmp_path):
    # setup writes the clock, then the password, then the account, each on flash before
    # the next: a power cut after the password leaves the clock and the password set and
    # no account (tests/unit/test_setup.py shows that state). The manifest says "started";
    # the rerun logs in and adds the account, with one press (the add).
    secret_file = tmp_path / "password.txt"
    secret_file.write_text("correct horse battery\n")
    with harness.SimProcess(tmp_path / "cut", autopress=True) as cut:
        with FobClient(connect(cut.data_url)) as client:
            serial = client.info()["serial"]
            client.time_set(int(time.time()))
            client.password_set("correct horse battery")
        m = fleet.Manifest(tmp_path / "entra.csv.manifest.json")
        m.mark(serial, upn=USERS[0], issuer="Contoso", state="started", port=cut.data_url)
        r, out = provision(tmp_path, USERS[:1], [cut.data_url], "--password-file", str(secret_file))
        assert r.returncode == 0, r.stderr
        assert r.stderr.count("hold A on fob") == 1, r.stderr
        [row] = csv_rows(tmp_path)
        [entry] = fob_codes(cut.data_url, "--password", "correct horse battery")
        assert (entry["issuer"], entry["name"]) == ("Contoso", USERS[0])
        assert entry["code"] == pyotp.TOTP(row["secret key"]).at(entry["time"])


class Port:
    def __init__(self, device):
        self.device = device
        self.interface = "CircuitPython CDC2 data"


def test_discovery_provisions_fobs_as_they_appear(sims, tmp_path):
    urls = [f.data_url for f in sims]
    plugged = []

    def lister():
        # One more fob on the hub at every poll.
        if len(plugged) < len(urls):
            plugged.append(urls[len(plugged)])
        return [Port(u) for u in plugged]

    run = fleet.Fleet(USERS[:3], "Contoso", tmp_path / "entra.csv")
    stop = threading.Event()
    timer = threading.Timer(30, stop.set)
    timer.start()
    try:
        run.run_discovery(list_ports=lister, stop=stop, poll=0.05)
    finally:
        timer.cancel()
        run.close()
    assert not stop.is_set(), [o.as_dict() for o in run.outcomes]
    assert sorted(o.result for o in run.outcomes) == ["done"] * 3
    assert sorted(r["upn"] for r in csv_rows(tmp_path)) == USERS[:3]


@pytest.mark.skipif(
    not (hasattr(FobClient, "password_set") and hasattr(FobClient, "settings_set")),
    reason="the fob's management password is not in this client yet",
)
def test_the_management_password_is_set(sims, tmp_path):
    secret_file = tmp_path / "password.txt"
    secret_file.write_text("correct horse battery\n")
    url = sims[0].data_url
    r, out = provision(tmp_path, USERS[:1], [url], "--password-file", str(secret_file))
    assert r.returncode == 0, r.stderr
    # The real firmware asks once on a fresh fob: the clock, the password and the account
    # under one question (docs/admin.md, "Fleet provisioning", says so).
    assert r.stderr.count("hold A on fob") == 1, r.stderr
    info = json.loads(otpfob("--port", url, "--json", "info").stdout)
    login = ("--password", "correct horse battery")
    shown = otpfob("--port", url, *login, "--json", "settings", "show")
    assert json.loads(shown.stdout)["add_presence"] is True, shown.stderr
    assert info["password"] is True
    [row] = csv_rows(tmp_path)
    [entry] = fob_codes(url, "--password", "correct horse battery")
    assert entry["code"] == pyotp.TOTP(row["secret key"]).at(entry["time"])
