"""The `otpfob` command, as a separate process, against the headless simulator.

The simulator runs the real firmware (code.py, protocol, vault, DS3231 driver) on emulated
hardware; the CLI reaches it over TCP (pyserial's socket:// URL) and over a pty, which goes
through pyserial's tty code exactly as a USB serial device does.
"""

import base64
import hashlib
import io
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pyotp
import pytest
import segno
from cli_runner import run_otpfob
from PIL import Image, ImageDraw

from otpfob import migration
from otpfob.otpauth import Account, build_uri

harness = pytest.importorskip("otpfob.sim.harness")

SECRET = "N52HAZTPMIQHIZLTOQQHGZLDOJSXIIJB"  # b"otpfob test secret!!"
OATHTOOL = shutil.which("oathtool")
PYOTP_DIGEST = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def otpfob(url, *args, input=None, timeout=60):
    return run_otpfob(url, *args, input=input, timeout=timeout)


def ok(url, *args, input=None):
    r = otpfob(url, *args, input=input)
    assert r.returncode == 0, "otpfob %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def as_json(url, *args, input=None):
    return json.loads(ok(url, "--json", *args, input=input).stdout)


def labels(url):
    return [(a["issuer"], a["name"]) for a in as_json(url, "list")]


@pytest.fixture
def sim(tmp_path):
    with harness.SimProcess(tmp_path / "state", autopress=True) as fob:
        ok(fob.data_url, "time", "set")
        yield fob


def expected(secret_b32, entry):
    """The code pyotp computes for the fob's time of the entry."""
    a = entry
    return pyotp.TOTP(
        secret_b32,
        digits=a["digits"],
        interval=a["period"],
        digest=PYOTP_DIGEST[a.get("algorithm", "SHA1")],
    ).at(entry["time"])


def oathtool_code(secret_b32, algorithm, digits, period, epoch):
    out = subprocess.run(
        [
            OATHTOOL,
            "--totp=%s" % algorithm.lower(),
            "-d",
            str(digits),
            "-s",
            "%ds" % period,
            "-b",
            secret_b32,
            "--now=@%d" % epoch,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_provision_and_use_a_fob_end_to_end(sim, tmp_path):
    url = sim.data_url

    # By secret, typed at the hidden prompt.
    r = ok(url, "add", "GitHub:octocat", input=SECRET.lower() + "\n")
    assert "matches" in r.stdout and SECRET not in r.stdout + r.stderr

    # By URI, with every parameter.
    sha256 = Account(
        "alice@example.com",
        b"0123456789abcdefghijklmnopqrstuv",
        issuer="ACME Co",
        algorithm="SHA256",
        digits=8,
        period=60,
    )
    ok(url, "add", "--uri", build_uri(sha256))

    # By a screenshot-like image of the QR code.
    sha512 = Account(
        "ops",
        b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
        issuer="Cloud",
        algorithm="SHA512",
        digits=6,
        period=30,
    )
    shot = tmp_path / "shot.png"
    _screenshot(build_uri(sha512)).save(shot)
    ok(url, "add", "--qr", str(shot))

    # A Google Authenticator export spread over three QR codes, one of them an image.
    exported = [
        Account("user%d@mail.example" % i, bytes([i]) * 20, issuer="Mail%d" % i) for i in range(7)
    ]
    uris = migration.export_uris(exported, per_code=3, batch_id=99)
    part3 = tmp_path / "part3.png"
    _screenshot(uris[2]).save(part3)
    out = as_json(url, "import", uris[0], uris[1], str(part3))
    assert out == {
        "added": 7,
        "replaced": 0,
        "requests": 2,  # parts of at most 1 KB (an import's line size)
        "round_trips": out["round_trips"],
        "skipped": [],
    }

    rows = as_json(url, "list")
    assert [(a["issuer"], a["name"]) for a in rows][:3] == [
        ("GitHub", "octocat"),
        ("ACME Co", "alice@example.com"),
        ("Cloud", "ops"),
    ]
    assert len(rows) == 10

    # Codes: the fob's against pyotp and oathtool at the fob's own time.
    codes = {(c["issuer"], c["name"]): c for c in as_json(url, "code")}
    secrets = {
        ("GitHub", "octocat"): (SECRET, "SHA1"),
        ("ACME Co", "alice@example.com"): (base64.b32encode(sha256.secret).decode(), "SHA256"),
        ("Cloud", "ops"): (base64.b32encode(sha512.secret).decode(), "SHA512"),
    }
    for a in exported:
        secrets[(a.issuer, a.name)] = (base64.b32encode(a.secret).decode(), "SHA1")
    assert set(codes) == set(secrets)
    for key, (b32, algorithm) in secrets.items():
        entry = dict(codes[key], algorithm=algorithm)
        assert abs(entry["time"] - time.time()) < 5
        assert entry["code"] == expected(b32, entry), key
        if OATHTOOL:
            assert entry["code"] == oathtool_code(
                b32, algorithm, entry["digits"], entry["period"], entry["time"]
            ), key

    # The code drawn on the fob's screen is the one pyotp gives for the RTC's time.
    st = sim.wait_for(lambda st: st.get("screen") == "code", what="a code on screen")
    issuer, _, name = st["label"].partition(":")
    b32, algorithm = secrets[(issuer, name)]
    entry = dict(codes[(issuer, name)], algorithm=algorithm)
    drawn = st["code"].replace(" ", "")
    assert drawn in {expected(b32, dict(entry, time=st["rtc_time"] - lag)) for lag in (0, 1)}

    # Rename, delete with a query; the ambiguous query changes nothing.
    ok(url, "rename", "alice@", "alice@acme.example", "--issuer", "ACME")
    assert ("ACME", "alice@acme.example") in labels(url)
    r = otpfob(url, "delete", "mail", "--force")
    assert r.returncode == 1 and "ambiguous" in r.stderr and "Mail0:user0@mail.example" in r.stderr
    assert len(labels(url)) == 10
    ok(url, "delete", "Mail3", "--force")
    assert ("Mail3", "user3@mail.example") not in labels(url)

    info = as_json(url, "info")
    assert info["accounts"] == 9 and info["capacity"] >= 9 and info["serial"] and info["firmware"]

    # Reset wipes it all.
    ok(url, "reset", "--force")
    assert labels(url) == []


def _screenshot(text):
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=3, border=3)
    buf.seek(0)
    code = Image.open(buf).convert("RGB")
    canvas = Image.new("RGB", (code.width + 400, code.height + 300), (33, 37, 41))
    draw = ImageDraw.Draw(canvas)
    for i in range(0, canvas.width, 37):
        draw.line([(i, 0), (canvas.width - i, canvas.height)], fill=(90, 120, 200), width=2)
    card = Image.new("RGB", (code.width + 24, code.height + 24), "white")
    card.paste(code, (12, 12))
    canvas.paste(card, (180, 140))
    return canvas


def test_errors_are_one_line_and_change_nothing(sim):
    url = sim.data_url
    ok(url, "add", "GitHub:octocat", SECRET)
    r = otpfob(url, "add", "github:OCTOCAT", SECRET)
    assert r.returncode == 1 and "--force" in r.stderr
    assert r.stderr.startswith("otpfob: error: ") and r.stderr.count("\n") == 1

    r = otpfob(url, "add", "Bank:me", "MZXW6YTBOI8Q")
    assert r.returncode == 1 and "'8'" in r.stderr and "MZXW6" not in r.stderr

    r = otpfob(url, "add", "--uri", "otpauth://hotp/Bank:me?secret=%s&counter=-1" % SECRET)
    assert r.returncode == 1 and "counter" in r.stderr
    assert labels(url) == [("GitHub", "octocat")]
    assert "Traceback" not in r.stderr


def test_clock_drift_shown_and_corrected(sim):
    url = sim.data_url
    sim.ok("clock %d" % (int(time.time()) + 100))
    drift = as_json(url, "time", "show")["drift"]
    assert 98 <= drift <= 102
    # 100 s back from the latest time the fob has seen: refused without --force (which
    # then also asks for a press on the fob, given here by autopress).
    r = otpfob(url, "time", "set")
    assert r.returncode == 1 and "behind the latest time the fob has seen" in r.stderr
    out = as_json(url, "time", "set", "--force")
    assert abs(out["drift"]) <= 1
    assert abs(as_json(url, "time", "show")["drift"]) <= 1


def test_clock_not_set_refuses_codes(sim):
    url = sim.data_url
    ok(url, "add", "GitHub:octocat", SECRET)
    sim.ok("rtc-power-loss")
    # The firmware reads the RTC about once a second; wait until it has noticed.
    sim.wait_for(
        lambda st: st.get("screen") == "clock_not_set", timeout=5, what="the clock-not-set screen"
    )
    r = otpfob(url, "code")
    assert r.returncode == 1 and "clock is not set" in r.stderr
    ok(url, "time", "set")
    assert len(as_json(url, "code")) == 1


def test_accounts_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    accounts = [Account("user%02d" % i, bytes([i + 1]) * 16, issuer="Keep") for i in range(5)]
    with harness.SimProcess(state, autopress=True) as fob:
        ok(fob.data_url, "time", "set")
        ok(fob.data_url, "import", *migration.export_uris(accounts))
        first = as_json(fob.data_url, "code")
    with harness.SimProcess(state, autopress=True) as fob:
        assert labels(fob.data_url) == [("Keep", a.name) for a in accounts]
        again = as_json(fob.data_url, "code")
        for a, b in zip(first, again, strict=True):
            if a["time"] // 30 == b["time"] // 30:
                assert a["code"] == b["code"]
        for entry, acc in zip(again, accounts, strict=True):
            assert entry["code"] == expected(
                base64.b32encode(acc.secret).decode(), dict(entry, algorithm="SHA1")
            )


def vault_sequence(state):
    """The newest vault slot's sequence number: one more per flash write (fob/vault.py's
    slot header is "OTPV", version, flags, count u16, sequence u32, little-endian)."""
    seqs = [0]
    for name in ("vault_a.bin", "vault_b.bin"):
        path = Path(state) / name
        head = path.read_bytes()[:12] if path.exists() else b""
        if len(head) == 12 and head[:4] == b"OTPV":
            seqs.append(int.from_bytes(head[8:12], "little"))
    return max(seqs)


def test_import_of_200_accounts_is_one_flash_write_a_batch(tmp_path):
    state = tmp_path / "state"
    accounts = [
        Account(
            "user%03d@example.com" % i,
            bytes([i % 256, i // 256]) * 10,
            issuer="Service %d" % (i % 17),
        )
        for i in range(200)
    ]
    path = tmp_path / "uris.txt"
    path.write_text("".join(build_uri(a) + "\n" for a in accounts))
    with harness.SimProcess(state, autopress=True) as fob:
        ok(fob.data_url, "time", "set")
        seq = vault_sequence(state)
        start = time.monotonic()
        out = as_json(fob.data_url, "import", str(path))
        took = time.monotonic() - start
        assert (out["added"], out["replaced"]) == (200, 0) and out["requests"] > 10
        # Two batches of the fob's batch_max (100), one write each.
        assert vault_sequence(state) - seq == 2
        assert len(as_json(fob.data_url, "list")) == 200
    # The target is 2 s on an idle machine; this one is shared, so only a gross regression
    # (a write per part, or a round trip per account) is caught here.
    assert took < 20


def _send(sock, request):
    sock.sendall(json.dumps(request).encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        assert chunk, "the simulator closed the data channel"
        data += chunk
    return json.loads(data.splitlines()[-1])


def test_staged_batch_is_dropped_when_the_host_disconnects(sim):
    host, port = sim.data_url[len("socket://") :].rsplit(":", 1)
    item = {"name": "half", "issuer": "Batch", "secret": SECRET}
    with socket.create_connection((host, int(port)), timeout=10) as s:
        r = _send(
            s,
            {
                "id": 1,
                "cmd": "add_many",
                "part": 0,
                "stage": True,
                "accounts": [item],
                "batch": "ab" * 16,
            },
        )
        assert r["ok"] and r["staged"] == 1
    time.sleep(0.5)  # the fob notices on its next loop passes
    with socket.create_connection((host, int(port)), timeout=10) as s:
        r = _send(s, {"id": 2, "cmd": "add_many", "part": 1, "accounts": [], "batch": "ab" * 16})
        assert r["ok"] is False and r["error"]["code"] == "no_batch"
    assert labels(sim.data_url) == []


class PtyBridge:
    """A pty whose far end is relayed to the simulator's TCP data channel.

    The CLI opens the pty's device path, so pyserial's serial-port code (termios, exclusive
    lock) runs as with a real USB CDC device.
    """

    def __init__(self, address):
        self.master, self.slave = pty.openpty()
        self.path = os.ttyname(self.slave)
        self.address = address
        self._stop = False
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self):
        sock = None
        while not self._stop:
            if sock is None:
                sock = socket.create_connection(self.address)
            ready, _, _ = select.select([self.master, sock], [], [], 0.05)
            if self.master in ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if data:
                    sock.sendall(data)
            if sock in ready:
                data = sock.recv(4096)
                if not data:
                    sock.close()
                    sock = None
                    continue
                os.write(self.master, data)
        if sock is not None:
            sock.close()

    def close(self):
        self._stop = True
        self.thread.join(2)
        os.close(self.master)
        os.close(self.slave)


def test_cli_over_a_pty(sim):
    bridge = PtyBridge(sim.data_address)
    try:
        ok(bridge.path, "add", "Pty:user", SECRET)
        assert labels(bridge.path) == [("Pty", "user")]
        entry = as_json(bridge.path, "code", "pty")[0]
        assert entry["code"] == expected(SECRET, dict(entry, algorithm="SHA1"))
    finally:
        bridge.close()
