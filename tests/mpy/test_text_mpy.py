"""Names on real MicroPython: its json module turns an escaped lone surrogate into the
bytes ED A0 80, which the vault must refuse (no host could decode a reply carrying them)."""

from otpfob.testing import mpy

SCRIPT = r"""
import json
from fob.vault import Account, VaultError

for text in ('"a\\ud800b"', '"\\udfff"', '"\\ud83d\\ude00"'):
    try:
        Account(json.loads(text), "Bank", b"0123456789")
        print("stored", text)
    except VaultError as e:
        print("refused", e.code, e.message)
print("fine", Account("caf\u00e9 \u4e2d", "", b"0123456789").name == "caf\u00e9 \u4e2d")
"""


def test_lone_surrogates_from_json_are_refused_on_the_unix_port():
    out = mpy.run_unix(SCRIPT, heapsize=128000).check().stdout.splitlines()
    assert out[:2] == ["refused bad_account name contains a lone surrogate (not valid Unicode)"] * 2
    # MicroPython does not join an escaped pair either; refused the same way, clearly.
    assert out[2].startswith("refused bad_account"), out
    assert out[3] == "fine True"
