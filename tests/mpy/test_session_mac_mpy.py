"""The session MAC on real MicroPython interpreters (64-bit unix, with and without native
hashlib, and the 32-bit WebAssembly port with the pure SHA-256): the fob logs in a host
whose every line is computed here, in CPython, with the standard library's HMAC, and
answers only the lines whose MAC fits its session key and counter."""

import hashlib
import hmac
import json

import pytest

from otpfob import auth
from otpfob.testing import mpy

KEY = bytes(range(32))  # the host's PBKDF2 output, as if derived already
SALT = bytes(range(100, 116))
NF = bytes(range(16))  # the fob's nonce, fixed for the test
NH = bytes(range(200, 216))  # the host's nonce
SESSION = hmac.new(KEY, b"otpfob session" + NF + NH, hashlib.sha256).digest()

SCRIPT = r"""
import os
from binascii import hexlify
from fob.protocol import Protocol
from fob.vault import Vault
from fob import access

ROOT = %(root)r
try:
    os.mkdir(ROOT)
except OSError:
    pass


class Port:
    def __init__(self):
        self.inbox = b""
        self.out = []

    @property
    def in_waiting(self):
        return len(self.inbox)

    def read(self, n):
        data = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return data

    def write(self, data):
        self.out.append(str(data, "utf-8"))
        return len(data)


class Clock:
    reason = "ok"

    def now(self):
        return 1800000000


access.random_bytes = lambda n: bytes(range(n))
v = Vault(ROOT)
v.load()
port = Port()
p = Protocol(port, v, Clock(), {"serial": "mpy"})
p.guard.set_password(%(salt)r, 10000, %(key)r)
native = None
for line in %(lines)r:
    port.out = []
    port.inbox += line + b"\n"
    for _ in range(100):
        p.poll()
        if not port.inbox and not p.pending:
            break
    print("".join(port.out), end="")
    if p.session is not None:
        native = p.session[access.SE_MAC].uses_native
print("NATIVE", native)
print("DONE")
"""


def _signed(n, request):
    return auth.sign_line(SESSION, n, json.dumps(request, separators=(",", ":")).encode())


def _lines():
    proof = hmac.new(KEY, b"otpfob host" + NF + NH, hashlib.sha256).hexdigest()
    pad = "x" * (2048 - 120)
    big = _signed(1, {"id": 6, "cmd": "hello", "pad": pad})
    assert 1900 < len(big) <= 2048  # a request of about 2 KB
    return [
        b'{"id":1,"cmd":"auth_begin"}',
        json.dumps(
            {
                "id": 2,
                "cmd": "auth",
                "challenge": NH.hex(),
                "fob_challenge": NF.hex(),
                "response": proof,
            }
        ).encode(),
        _signed(0, {"id": 3, "cmd": "list"}),
        _signed(0, {"id": 4, "cmd": "list"}),  # counter 0 again: a replay
        _signed(2, {"id": 5, "cmd": "hello"}),  # counter 2 before 1: reordered
        big,
        b'{"id":7,"cmd":"list"}',  # no MAC at all
        _signed(2, {"id": 8, "cmd": "info"}),
        _signed(3, {"id": 9, "cmd": "logout"}),
        _signed(4, {"id": 10, "cmd": "list"}),  # after the logout
    ]


def check(stdout, native):
    replies = {
        r["id"]: r for r in (json.loads(x) for x in stdout.splitlines() if x.startswith("{"))
    }
    assert replies[1]["challenge"] == NF.hex()
    assert (
        replies[2]["response"] == hmac.new(KEY, b"otpfob fob" + NH + NF, hashlib.sha256).hexdigest()
    )
    assert replies[3]["ok"] is True and replies[3]["accounts"] == []
    for rid in (4, 5, 7, 10):
        assert replies[rid]["error"]["code"] == "auth_required", replies[rid]
    assert replies[6]["ok"] is True and replies[6]["protocol"]
    assert replies[8]["ok"] is True and replies[8]["logged_in"] is True
    assert replies[9]["logged_out"] is True
    assert "NATIVE %s" % native in stdout and stdout.rstrip().endswith("DONE")


def _script(root):
    return SCRIPT % {"root": root, "key": KEY, "salt": SALT, "lines": _lines()}


@pytest.mark.parametrize("hide", [("hashlib",), ()], ids=["pure", "native"])
def test_session_mac_on_the_unix_port(tmp_path, hide):
    res = mpy.run_unix(_script(str(tmp_path / "state")), heapsize=256000, hide=hide).check()
    # The unix port's hashlib has sha256: the native run must use it.
    check(res.stdout, native=not hide)


@pytest.mark.skipif(not mpy.wasm_available(), reason="node or the WebAssembly port missing")
def test_session_mac_on_the_32_bit_wasm_port_with_pure_sha256():
    res = mpy.run_wasm(_script("/state"), heapsize=256 * 1024, hide=("hashlib",)).check()
    check(res.stdout, native=False)
