"""The password, its retry counter and the presence question on real MicroPython
interpreters (64-bit unix and 32-bit WebAssembly, native hashlib hidden so the pure
SHA-256 runs as on boards without it). The fob's replies are checked here, in CPython, with
the standard library's HMAC: the two sides share no code."""

import hashlib
import hmac
import json

import pytest

from otpfob.testing import mpy

KEY = bytes(range(32))  # the host's PBKDF2 output, as if derived already
SALT = bytes(range(100, 116))
NH = bytes(range(200, 216))  # the host's nonce

SCRIPT = r"""
import json
import os
from fob.protocol import Protocol
from fob.vault import Account, Vault
from fob import access

ROOT = %(root)r
try:
    os.mkdir(ROOT)
except OSError:
    pass


class Port:
    def __init__(self):
        self.inbox = b""
        self.last = []

    @property
    def in_waiting(self):
        return len(self.inbox)

    def read(self, n):
        data = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return data

    def write(self, data):
        text = str(data, "utf-8")
        print(text, end="")
        self.last.append(text)
        return len(data)


class Person:
    # Says yes to the first question, no to the second, then yes again.
    answers = [True, False]
    answer = None

    def ask(self, prompt):
        self.answer = self.answers.pop(0) if self.answers else True

    def cancel(self):
        self.answer = None

    def notify(self, text):
        print("NOTICE", text)


class Clock:
    reason = "ok"

    def now(self):
        return 1800000000


def fob():
    v = Vault(ROOT)
    v.load()
    port = Port()
    return v, port, Protocol(port, v, Clock(), {"serial": "mpy"}, presence=Person())


def call(p, port, **req):
    return send(p, port, json.dumps(req).encode())


def send(p, port, line):
    port.last = []
    port.inbox += line + b"\n"
    for _ in range(2000):
        p.poll()
        if not port.inbox and not p.pending:
            break
    return json.loads("".join(port.last).strip().split("\n")[-1])


def unhex(s):
    from binascii import unhexlify
    return unhexlify(s)


v, port, p = fob()
v.add(Account("one", "Ex", b"12345678901234567890"))
KEY = unhex(%(key)r)
NH = unhex(%(nh)r)
call(p, port, id=1, cmd="password_set", salt=%(salt)r, iterations=10000, key=%(key)r)
call(p, port, id=2, cmd="list")
# A wrong proof costs a try.
b = call(p, port, id=3, cmd="auth_begin")
call(p, port, id=4, cmd="auth", challenge=%(nh)r, fob_challenge=b["challenge"],
     response="00" * 32)
# The right one, made with the fob's own HMAC (the host side checks it independently).
b = call(p, port, id=5, cmd="auth_begin")
proof = access.mac(KEY, access.HOST_LABEL, unhex(b["challenge"]), NH)
from binascii import hexlify
call(p, port, id=6, cmd="auth", challenge=%(nh)r, fob_challenge=b["challenge"],
     response=str(hexlify(proof), "ascii"))
# From now on every request carries the session's MAC over its counter and its bytes.
SK = access.mac(KEY, access.SESSION_LABEL, unhex(b["challenge"]), NH)


def signed(n, **req):
    import struct
    from fob.hmac import HMAC
    body = json.dumps(req).encode()[:-1]
    tag = HMAC(SK, "sha256").digest(struct.pack(">Q", n) + body)
    return send(p, port, body + b',"mac":"' + hexlify(tag) + b'"}')


signed(0, id=7, cmd="list")
signed(1, id=8, cmd="delete", index=0)
signed(2, id=9, cmd="info")
print("--- restart")
v, port, p = fob()
call(p, port, id=10, cmd="list")
call(p, port, id=11, cmd="info")
"""


def _mac(label, a, b):
    return hmac.new(KEY, label + a + b, hashlib.sha256).digest()


def check(stdout):
    lines = [
        json.loads(x) for x in stdout.replace("--- restart", "").splitlines() if x.startswith("{")
    ]
    by_id = {}
    for r in lines:
        by_id.setdefault(r["id"], []).append(r)
    assert by_id[1][0] == {
        "id": 1,
        "pending": "presence",
        "prompt": "Set password?",
        "timeout": 30,
        "check": True,
    }
    assert by_id[1][1]["ok"] and by_id[1][1]["password"] is True
    assert by_id[2][0]["error"]["code"] == "auth_required"
    begin_wrong = by_id[3][0]
    assert begin_wrong["salt"] == SALT.hex() and begin_wrong["iterations"] == 10000
    assert by_id[4][0]["error"]["code"] == "bad_password"
    assert "7 tries left" in by_id[4][0]["error"]["message"]
    begin = by_id[5][0]
    assert begin["tries_left"] == 7
    assert begin["challenge"] != begin_wrong["challenge"]  # fresh every time
    nf = bytes.fromhex(begin["challenge"])
    login = by_id[6][0]
    assert login["ok"] and login["tries_left"] == 8
    assert login["response"] == _mac(b"otpfob fob", NH, nf).hex()
    assert [a["name"] for a in by_id[7][0]["accounts"]] == ["one"]
    # The person said no to the delete.
    assert by_id[8][0]["pending"] == "presence" and by_id[8][1]["error"]["code"] == "refused"
    assert by_id[9][0]["password"] is True and by_id[9][0]["logged_in"] is True
    # After a restart: the password holds (the login does not), the account is there.
    assert by_id[10][0]["error"]["code"] == "auth_required"
    # A host that has not logged in learns only what a login needs.
    assert by_id[11][0]["password"] is True and "accounts" not in by_id[11][0]
    assert "tries_left" not in by_id[11][0]
    assert KEY.hex() not in stdout.split('"id": 1,')[-1]


def _script(root):
    return SCRIPT % {"root": root, "key": KEY.hex(), "nh": NH.hex(), "salt": SALT.hex()}


def test_password_on_the_unix_port_with_pure_sha256(tmp_path):
    # From .mpy files, as deployed (source would be compiled in the same heap).
    from mpy_build import compiled_firmware

    lib = compiled_firmware(tmp_path / "lib")
    res = mpy.run_unix(
        _script(str(tmp_path / "state")), paths=[lib], heapsize=mpy.UNIX_HEAP, hide=("hashlib",)
    ).check()
    check(res.stdout)


@pytest.mark.skipif(not mpy.wasm_available(), reason="node or the WebAssembly port missing")
def test_password_on_the_32_bit_wasm_port():
    res = mpy.run_wasm(_script("/state"), heapsize=128 * 1024, hide=("hashlib",)).check()
    check(res.stdout)
