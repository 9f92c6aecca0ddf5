"""Hostile requests at the fob's protocol handler, with the vault on a real folder.

tests/unit/test_protocol.py fuzzes frames (random bytes and mutations of valid requests,
the vault in memory). This file sends requests built from the commands' own argument
names with values of every type and edge, one request per line, and after each one checks
what the flash holds: a rejected request leaves both vault files byte for byte as they
were, an accepted one leaves files that load back to what the fob holds in RAM. Each
request must be answered within a bounded time, with exactly one final reply, an error
code from docs/protocol.md's table and a message; no reply carries any form of a stored
secret.

Fast under the default hypothesis profile; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs it long.
"""

import base64
import json
import re
import signal
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fob import policy, protocol
from fob.protocol import Protocol
from fob.vault import Account, Vault

REPO = Path(__file__).resolve().parents[2]
T0 = 1800000000
STORED = [
    ("alice@example.com", "Example", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "SHA1"),
    ("bob", "Bank", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "SHA256"),
    ("ops", "", "MZXW6YTBOJUWU4DBNRZGK3DBMV2GK43UMZXW6YTB", "SHA512"),
]
# Real seconds one request may take on a slow, shared machine; a hang shows up as a
# SIGALRM well past it.
REQUEST_SECONDS = 2.0
HANG_SECONDS = 20
VAULT_FILES = ("vault_a.bin", "vault_b.bin")


def documented_codes():
    text = (REPO / "docs" / "protocol.md").read_text()
    table = text.split("### Error codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, re.M))


CODES = documented_codes()


from fakes import FakeClock, FakePort  # noqa: E402


class Port(FakePort):
    """The protocol tests' port, with a host that stays connected."""

    def __init__(self):
        FakePort.__init__(self)
        self.connected = True


class Presence:
    """The person at the fob: answers every prompt with ``self.yes``."""

    def __init__(self, yes):
        self.yes = yes
        self.answer = None
        self.prompts = []

    def ask(self, prompt):
        self.prompts.append(prompt)
        self.answer = self.yes

    def cancel(self):
        self.answer = None

    def notify(self, text):
        self.prompts.append(text)


def make_protocol(root, yes):
    vault = Vault(str(root))
    vault.load()
    for name, issuer, secret, alg in STORED:
        vault.add(Account(name, issuer, base64.b32decode(secret), algorithm=alg))
    port = Port()
    proto = Protocol(
        port, vault, FakeClock(), {"serial": "e661abcd", "board": "Test"}, presence=Presence(yes)
    )
    return proto, port, vault


def files(root):
    return {n: (root / n).read_bytes() if (root / n).exists() else None for n in VAULT_FILES}


def accounts(vault):
    return [
        (a.name, a.issuer, bytes(a.secret), a.algorithm, a.digits, a.period) for a in vault.accounts
    ]


def secret_forms():
    """Every way a stored secret could show up in a reply: hex, and any 8 characters in a
    row of its base32 text (upper and lower case)."""
    forms = set()
    for _, _, b32, _ in STORED:
        raw = base64.b32decode(b32)
        forms.add(raw.hex())
        forms.add(raw.hex().upper())
        for i in range(len(b32) - 7):
            forms.add(b32[i : i + 8])
            forms.add(b32[i : i + 8].lower())
    return forms


SECRET_FORMS = secret_forms()


# -- requests ----------------------------------------------------------------------------

COMMANDS = policy.names()

small_text = st.text(max_size=12)
edge_ints = st.sampled_from(
    [
        0,
        1,
        -1,
        2,
        5,
        6,
        8,
        9,
        29,
        30,
        64,
        65,
        127,
        128,
        -128,
        -129,
        199,
        200,
        9999,
        10000,
        86400,
        86401,
        946684799,
        946684800,
        T0,
        4102444799,
        4102444800,
        2**31,
        2**32,
        2**63,
        -(2**63),
        2**70,
    ]
)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | edge_ints
    | st.floats(allow_nan=False)
    | small_text,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(small_text, kids, max_size=3),
    max_leaves=8,
)
labels = (
    st.sampled_from(
        [
            "",
            " ",
            "alice@example.com",
            "ALICE@EXAMPLE.COM",
            "Example",
            "bob",
            "x" * 64,
            "x" * 65,
            "é" * 32,
            "é" * 33,
            "a\nb",
            "a\x00b",
            "\u202e",
            "ops",
        ]
    )
    | small_text
)
secrets_text = st.sampled_from(
    [
        "",
        "A",
        "AA",
        "AAAA",
        "GEZDGNBV",
        "GEZDGNBVGY3TQOJQ",
        "JBSWY3DPEHPK3PXP====",
        "JBSWY3DP=EHPK3PXP",
        "0O1I8B",
        "gezd gnbv-gy3t",
        "A" * 205,
        "A" * 206,
        "A" * 512,
        "A" * 513,
        "JBSWY3DPEHPK3PXP\n",
        "ıııı",
        "\udcff",
    ]
) | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abc =-018", max_size=40)
hex_text = st.sampled_from(["", "00" * 16, "00" * 32, "zz" * 16, "0" * 31, "ab" * 200]) | st.text(
    alphabet="0123456789abcdefXYZ", max_size=70
)

ARGS = {
    "name": labels,
    "issuer": labels,
    "secret": secrets_text,
    "algorithm": st.sampled_from(["SHA1", "sha256", "Sha512", "STEAM", "MD5", "", "SHA-1"]),
    "digits": edge_ints,
    "period": edge_ints,
    "overwrite": st.booleans(),
    "part": edge_ints,
    "stage": st.booleans(),
    "index": edge_ints,
    "to": edge_ints,
    "all": st.booleans(),
    "confirm": st.booleans(),
    "time": edge_ints,
    "aging": edge_ints,
    "force": st.booleans(),
    "iterations": edge_ints,
    "salt": hex_text,
    "key": hex_text,
    "wrapped": hex_text,
    "challenge": hex_text,
    "response": hex_text,
}


@st.composite
def account_items(draw):
    keys = draw(
        st.sets(st.sampled_from(["name", "issuer", "secret", "algorithm", "digits", "period"]))
    )
    item = {
        k: draw(ARGS[k] | any_json) if draw(st.integers(0, 9)) == 0 else draw(ARGS[k])
        for k in sorted(keys)
    }
    return item if draw(st.integers(0, 9)) else draw(any_json)


@st.composite
def requests(draw):
    req = {}
    # Mostly well-formed envelopes, so most requests get as far as their arguments.
    kind = draw(st.integers(0, 19))
    if kind < 17:
        req["id"] = draw(st.integers(-(2**40), 2**40))
    elif kind < 19:
        req["id"] = draw(st.text(max_size=70) | any_json)
    kind = draw(st.integers(0, 19))
    if kind < 17:
        req["cmd"] = draw(st.sampled_from(COMMANDS))
    elif kind < 19:
        req["cmd"] = draw(small_text | any_json)
    for key in draw(st.sets(st.sampled_from(sorted(ARGS)), max_size=6)):
        req[key] = draw(any_json) if draw(st.integers(0, 7)) == 0 else draw(ARGS[key])
    if req.get("cmd") == "add_many" or draw(st.integers(0, 29)) == 0:
        req["accounts"] = draw(st.lists(account_items(), max_size=5) | any_json)
    line = json.dumps(req, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    return line + draw(st.sampled_from([b"\n", b"\r\n"]))


raw_lines = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"") + b"\n"),
    st.sampled_from(
        [
            b"[]\n",
            b"null\n",
            b"1e999999\n",
            b'{"id": NaN, "cmd": "hello"}\n',
            b'{"id": 1, "cmd": "hello"\n',
            b"[" * 2000 + b"\n",
            b"{" * 1000 + b"\n",
            b'{"id": 1, "cmd": "hello", "id": 2}\n',
            b'"\xff\xfe"\n',
            b'{"id": 1, "cmd": "add", "secret": "' + b"A" * 2100 + b'"}\n',
            b"x" * 2048 + b"\n",
            b"x" * 2049 + b"\n",
            b"\r\n",
        ]
    ),
)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("a request took more than %d s" % HANG_SECONDS)


def run_line(proto, port, line):
    """Feed one line, poll until the fob is idle; returns (reply objects, seconds)."""
    port.inbox += line
    started = time.monotonic()
    for _ in range(100000):
        proto.poll()
        if not port.inbox and not proto.pending:
            break
    else:
        raise AssertionError("the fob never went idle after %r" % line[:80])
    took = time.monotonic() - started
    text = bytes(port.out).decode("utf-8")
    port.out.clear()
    assert text == "" or text.endswith("\n"), text[-80:]
    return [json.loads(t) for t in text.split("\n") if t], took


def check_reply(req_line, replies):
    finals = [r for r in replies if "pending" not in r]
    expected = 1 if req_line.strip() else 0
    assert len(finals) == expected, (req_line[:120], replies)
    for r in replies:
        text = json.dumps(r, ensure_ascii=False)
        for form in SECRET_FORMS:
            assert form not in text, "a reply quotes a stored secret: %s" % text[:200]
    if not finals:
        return None
    r = finals[0]
    assert r["ok"] in (True, False) and "id" in r
    if r["ok"] is False:
        e = r["error"]
        assert e["code"] in CODES, "undocumented error code %r" % e["code"]
        assert isinstance(e["message"], str) and e["message"].strip()
    try:
        sent = json.loads(req_line.decode("utf-8"))  # strict, as the fob reads it
    except (ValueError, RecursionError):
        sent = None
    rid = sent.get("id") if isinstance(sent, dict) else None
    valid_id = (isinstance(rid, int) and not isinstance(rid, bool)) or (
        isinstance(rid, str) and len(rid) <= 64
    )
    if valid_id and len(req_line.rstrip(b"\r\n")) <= protocol.MAX_LINE:
        assert r["id"] == rid, (req_line[:120], r)
    return r


@pytest.mark.fuzz
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(
    st.lists(st.one_of(requests(), requests(), requests(), raw_lines), min_size=1, max_size=6),
    st.booleans(),
)
def test_fuzz_requests_answered_in_time_and_rejections_leave_the_flash_alone(lines, yes):
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            proto, port, vault = make_protocol(root, yes)
            for line in lines:
                before_files, before = files(root), accounts(vault)
                signal.alarm(HANG_SECONDS)
                try:
                    replies, took = run_line(proto, port, line)
                finally:
                    signal.alarm(0)
                assert took < REQUEST_SECONDS, "%r took %.2f s" % (line[:80], took)
                r = check_reply(line, replies)
                if r is not None:
                    event("ok" if r["ok"] else r["error"]["code"])
                if r is not None and r["ok"] is False and r["error"]["code"] != "wiped":
                    assert files(root) == before_files, (line[:120], r)
                    assert accounts(vault) == before, (line[:120], r)
                # Whatever happened, what a reboot would load is what the fob holds now.
                again = Vault(str(root))
                again.load()
                assert accounts(again) == accounts(vault)
    finally:
        signal.signal(signal.SIGALRM, old)
