"""Secrets never come back: a whole provisioning session against the simulated fob, with
everything the host could see recorded, then searched for the secrets that went in.

Recorded: every `otpfob` stdout and stderr; every byte the fob sent on the data channel
(the CLI talks through a relay that keeps the fob-to-host direction); the simulator's own
output; the control port's status (label, prompt) and the text on the OLED, read back
from screenshots with the firmware's fonts, at every step, a presence prompt included.
Searched for: each secret's raw bytes, its hex and base64, and any 8 characters in a row
of its base32 text (either case, with and without padding); rejected secrets included.

Also: `otpfob add NAME` without SECRET asks at a hidden prompt on a terminal (no echo),
and the secret is never in the process's argv (what `ps` and shell history see).
"""

import base64
import json
import os
import pty
import select
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_runner import OTPFOB, run_otpfob
from PIL import Image

from fob import font
from otpfob import migration
from otpfob.otpauth import Account, build_uri
from otpfob.sim.harness import SimProcess


def b32(raw, pad=False):
    text = base64.b32encode(raw).decode()
    return text if pad else text.rstrip("=")


class Relay:
    """A TCP relay in front of the fob's data channel that records what the fob sends."""

    def __init__(self, target):
        self.target = target
        self.from_fob = bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = "socket://127.0.0.1:%d" % self.server.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                host, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(host,), daemon=True).start()

    def _pipe(self, host):
        fob = socket.create_connection(self.target)
        socks = [host, fob]
        try:
            while True:
                ready, _, _ = select.select(socks, [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is fob:
                        with self._lock:
                            self.from_fob += data
                        host.sendall(data)
                    else:
                        fob.sendall(data)
        except OSError:
            return
        finally:
            host.close()
            fob.close()

    def close(self):
        self.server.close()


def screen_text(png_path):
    """The small-font text and big digits on a screenshot of the OLED, page by page."""
    img = Image.open(png_path).convert("L")
    w, h = img.size
    px = img.load()
    pages = []
    for page in range(h // 8):
        cols = [sum(1 << bit for bit in range(8) if px[x, page * 8 + bit] > 127) for x in range(w)]
        pages.append(cols)
    small = {}
    for code in range(0x21, font.LAST + 1):  # the printable glyphs but the space
        o = font.small_offset(code)
        small[bytes(font.SMALL[o : o + font.SMALL_W])] = chr(code)
    lines = []
    for cols in pages:
        for invert in (False, True):
            row = [(c ^ 0xFF) if invert else c for c in cols]
            text, x, last_end = "", 0, None
            while x <= w - font.SMALL_W:
                ch = small.get(bytes(row[x : x + font.SMALL_W]))
                if ch is None:
                    x += 1
                    continue
                if last_end is not None and x - last_end > font.CELL_W - font.SMALL_W:
                    text += " "
                text += ch
                x += font.SMALL_W
                last_end = x
            lines.append(text)
    n = font.BIG_W * font.BIG_PAGES
    big = {bytes(font.BIG[font.big_offset(c) : font.big_offset(c) + n]): c for c in font.BIG_CHARS}
    for page in range(len(pages) - font.BIG_PAGES + 1):
        text, x = "", 0
        while x <= w - font.BIG_W:
            cell = bytes(
                pages[page + p][x + c] for p in range(font.BIG_PAGES) for c in range(font.BIG_W)
            )
            if any(cell) and cell in big:
                text += big[cell]
                x += font.BIG_W
            else:
                x += 1
        lines.append(text)
    return "\n".join(line for line in lines if line)


class Session:
    def __init__(self, fob, relay, tmp_path):
        self.fob = fob
        self.relay = relay
        self.tmp = tmp_path
        self.outputs = []  # (what, text)
        self.shots = 0

    def cli(self, *args, input=None, expect=0):
        r = run_otpfob(self.relay.url, *args, input=input)
        self.outputs.append(("otpfob %s: stdout" % " ".join(args), r.stdout))
        self.outputs.append(("otpfob %s: stderr" % " ".join(args), r.stderr))
        assert r.returncode == expect, "otpfob %s -> %d\n%s%s" % (
            " ".join(args),
            r.returncode,
            r.stdout,
            r.stderr,
        )
        self.look()
        return r

    def look(self):
        """Record what the fob shows now: the control port's status and the OLED's text."""
        st = self.fob.status()
        self.outputs.append(("status", json.dumps(st)))
        self.shots += 1
        path = self.tmp / ("screen-%03d.png" % self.shots)
        self.fob.screen_png(path)
        text = screen_text(path)
        self.outputs.append(("screen %d" % self.shots, text))
        return st, text


def forms(raw):
    """Every form of a secret to search for: (kind, needle) with needle str or bytes."""
    out = [
        ("raw", raw),
        ("hex", raw.hex()),
        ("HEX", raw.hex().upper()),
        ("base64", base64.b64encode(raw).decode().rstrip("=")),
    ]
    for text in {b32(raw), b32(raw, pad=True)}:
        for i in range(max(1, len(text) - 7)):
            out.append(("base32", text[i : i + 8].upper()))
    return out


def text_forms(text):
    """The same for a secret that was only ever text (a rejected one)."""
    clean = text.replace(" ", "").upper()
    return [("base32", clean[i : i + 8]) for i in range(max(1, len(clean) - 7))]


def scan(haystacks, needles):
    found = []
    for what, hay in haystacks:
        if isinstance(hay, str):
            up = hay.upper()
            for kind, needle in needles:
                if isinstance(needle, str) and needle.upper() in up:
                    found.append((what, kind, needle))
        else:
            for kind, needle in needles:
                n = needle if isinstance(needle, bytes) else needle.encode()
                if n in hay or (not isinstance(needle, bytes) and n.lower() in hay):
                    found.append((what, kind, needle))
    return found


@pytest.fixture
def fob(tmp_path):
    with SimProcess(tmp_path / "state", autopress=True) as fob:
        # Set the clock, so that `add` can check the fob's first code.
        subprocess.run(
            [OTPFOB, "--port", fob.data_url, "time", "set"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield fob


def test_no_secret_in_any_reply_log_or_screen_of_a_session(fob, tmp_path):
    rnd = os.urandom
    by_arg, by_uri, by_prompt, in_file, in_export = rnd(20), rnd(32), rnd(20), rnd(20), rnd(16)
    relay = Relay(fob.data_address)
    s = Session(fob, relay, tmp_path)
    try:
        s.cli("time", "show")
        s.cli("add", "Arg:alice", b32(by_arg))
        s.cli(
            "add",
            "--uri",
            build_uri(Account("bob", by_uri, issuer="Uri", algorithm="SHA256", digits=8)),
        )
        s.cli("add", "Prompt:carol", input=b32(by_prompt).lower() + "\n")
        export = migration.encode_uri(
            migration.encode_payload([Account("erin", in_export, issuer="Export")])
        )
        accounts_file = tmp_path / "accounts.txt"
        accounts_file.write_text(
            "# accounts\n%s\n%s\n" % (build_uri(Account("dave", in_file, issuer="File")), export)
        )
        s.cli("import", "--dry-run", str(accounts_file))
        s.cli("import", str(accounts_file))

        # Rejected secrets: one bad character, a bad length, a URI with a bad secret, a
        # file with a bad line. Nothing is stored, nothing is echoed.
        bad = b32(rnd(20))
        bad_char = bad[:9] + "8" + bad[10:]
        bad_len = b32(rnd(20))[:-2]  # 30 characters cannot be whole bytes
        bad_uri = "otpauth://totp/Bad:x?secret=%s1%s" % (bad[:12], bad[13:])
        s.cli("add", "Bad:char", bad_char, expect=1)
        s.cli("add", "Bad:len", bad_len, expect=1)
        s.cli("add", "Bad:prompt", input=bad_char + "\n", expect=1)
        s.cli("add", "--uri", bad_uri, expect=1)
        bad_file = tmp_path / "bad.txt"
        bad_file.write_text(
            build_uri(Account("ok", rnd(20), issuer="Never")) + "\n" + bad_uri + "\n"
        )
        # The bad line is skipped with a line naming it (never its secret); the good one
        # comes across, and goes again.
        s.cli("import", str(bad_file))
        s.cli("delete", "Never:ok", "--force")
        s.cli("add", "Arg:alice", b32(by_arg), expect=1)  # a duplicate

        listed = json.loads(s.cli("--json", "list").stdout)
        assert [(a["issuer"], a["name"]) for a in listed] == [
            ("Arg", "alice"),
            ("Uri", "bob"),
            ("Prompt", "carol"),
            ("File", "dave"),
            ("Export", "erin"),
        ]
        s.cli("list")
        s.cli("code")
        s.cli("--json", "code")
        s.cli("code", "carol")
        s.cli("rename", "dave", "dave@file.example")
        s.cli("info")
        s.cli("--json", "info")
        s.cli("time", "show")
        s.cli("selftest")

        # Every account on the OLED, and the list screen. The reader must find the code
        # the fob reports drawing, or the scan of the screens would prove nothing.
        for _ in range(len(listed)):
            fob.press("A")
            st, text = s.look()
            if st.get("screen") == "code" and st.get("code"):
                assert st["code"].replace(" ", "") in text.replace(" ", ""), (st, text)
        fob.press("C")
        s.look()
        fob.press("B")
        s.look()

        # A presence prompt on screen, held up long enough to read it.
        fob.ok("autopress off")
        waiting = subprocess.Popen(
            [OTPFOB, "--port", relay.url, "delete", "erin", "--force"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            st = fob.wait_for(
                lambda st: st.get("screen") in ("presence", "prompt") or waiting.poll() is not None,
                what="a presence prompt",
            )
            prompt_seen = st.get("screen") in ("presence", "prompt")
            s.look()
            fob.answer(True)
        finally:
            out, err = waiting.communicate(timeout=60)
        s.outputs += [("delete stdout", out), ("delete stderr", err)]
        fob.ok("autopress on")
        s.cli("delete", "alice", "--force")
        time.sleep(0.2)
    finally:
        relay.close()
    fob_out = list(fob._out) + list(fob._err)
    haystacks = s.outputs + [
        ("data channel, fob to host", bytes(relay.from_fob)),
        ("simulator output", "\n".join(fob_out)),
    ]

    # The scan is only worth something if it saw what it should have.
    assert len(relay.from_fob) > 2000 and b'"codes"' in relay.from_fob
    texts = "\n".join(t for w, t in s.outputs if w.startswith("screen"))
    assert "carol" in texts and "Prompt" in texts, texts
    assert prompt_seen and "Issuer: Export" in texts and "Name: erin" in texts, texts

    needles = []
    for raw in (by_arg, by_uri, by_prompt, in_file, in_export):
        needles += forms(raw)
    for text in (bad, bad_char, bad_len):
        needles += text_forms(text)
    # The scanner itself finds a quoted piece of a secret, in either case, in text and bytes.
    assert scan([("probe", "x" + b32(by_arg)[5:13].lower())], forms(by_arg))
    assert scan([("probe", b"x" + by_uri.hex().encode())], forms(by_uri))
    found = scan(haystacks, needles)
    assert not found, "secrets found: %s" % found[:5]


def test_add_without_secret_asks_at_a_hidden_prompt_and_keeps_it_out_of_argv(fob):
    secret = b32(os.urandom(20))
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    proc = subprocess.Popen(
        [OTPFOB, "--port", fob.data_url, "add", "Tty:user"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = bytearray()

    def read_until(pred, timeout=30):
        deadline = time.monotonic() + timeout
        while not pred() and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    seen.extend(os.read(master, 4096))
                except OSError:
                    return

    try:
        read_until(lambda: b"Secret" in seen)
        assert b"Secret" in seen, bytes(seen)
        # What `ps` shows while the prompt waits: no secret there.
        argv = Path("/proc/%d/cmdline" % proc.pid).read_bytes().split(b"\0")
        assert b"add" in argv and b"Tty:user" in argv
        os.write(master, secret.encode() + b"\n")
        read_until(lambda: proc.poll() is not None, timeout=60)
        proc.wait(30)
        read_until(lambda: False, timeout=0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = bytes(seen).decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "Added" in text, text
    # Typed but never echoed by the terminal, nor printed.
    for i in range(len(secret) - 7):
        assert secret[i : i + 8] not in text.upper(), text
