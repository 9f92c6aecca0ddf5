"""setup (fob/fresh.py) on the 32-bit WebAssembly port with a board's heap: a fresh fob's
clock, password and the most accounts a setup takes under one question, then a restart
over the same flash that finds them all, and a second setup refused."""

import base64
import json
from pathlib import Path

import pyotp
import pytest

from otpfob import auth
from otpfob.testing import mpy

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SALT = b"s" * 16
KEY = auth.derive_key("correct horse", SALT, auth.ITERATIONS_MIN)
WHEN = 1800003600

SCRIPT = (
    "ANSWER = True  # the holder says yes\n"
    + Path(__file__).with_name("protocol_rig.py").read_text()
    + r"""
import gc

port, p = fob()
port.inbox += REQUEST + "\n"
gc.collect()
print("passes", settle(port, p, 1))
gc.collect()
print("free", gc.mem_free())
print("--- restart")
port, p = fob()
port.inbox += json.dumps({"id": 2, "cmd": "info"}) + "\n"
settle(port, p, 2)
port.inbox += json.dumps({"id": 3, "cmd": "setup", "time": clock.t}) + "\n"
settle(port, p, 3)
"""
)


@pytest.mark.skipif(not mpy.wasm_available(), reason="node or the WebAssembly port missing")
def test_setup_with_the_most_accounts_on_the_32_bit_port():
    from fob import fresh

    accounts = [
        {"issuer": "Contoso", "name": "user%d@contoso.example" % i, "secret": SECRET}
        for i in range(fresh.ACCOUNTS_MAX)
    ]
    request = {
        "id": 1,
        "cmd": "setup",
        "time": WHEN,
        "salt": SALT.hex(),
        "iterations": auth.ITERATIONS_MIN,
        "key": KEY.hex(),
        "accounts": accounts,
    }
    script = SCRIPT.replace("REQUEST", repr(json.dumps(request)))
    res = mpy.run_wasm(script, heapsize=128 * 1024).check()
    first, second = res.stdout.split("--- restart")
    lines = [json.loads(x) for x in first.splitlines() if x.startswith("{")]
    asked = [r for r in lines if "pending" in r]
    assert len(asked) == 1
    assert asked[0]["prompt"].count("Name: user") == fresh.ACCOUNTS_MAX
    [done] = [r for r in lines if "pending" not in r]
    assert done["ok"] and done["password"] is True, done
    assert done["added"] == fresh.ACCOUNTS_MAX
    code = pyotp.TOTP(base64.b32encode(base64.b32decode(SECRET))).at(done["time"])
    assert done["codes"] == [code] * fresh.ACCOUNTS_MAX
    # The work took loop passes (the clock's wait for its second, the vault's steps).
    passes = [x for x in first.splitlines() if x.startswith("passes ")]
    assert int(passes[0].split()[1]) > 3
    again = [json.loads(x) for x in second.splitlines() if x.startswith("{")]
    assert again[0]["password"] is True
    assert again[1]["error"]["code"] == "not_fresh"
