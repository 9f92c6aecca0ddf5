"""The check value (the "Check: K7-3F" line of an add's, an import's and a password
change's question): the page computes it from what it sends, so the holder can tell the
change on the fob's screen is theirs. Its computation (web/js/check.js) against one written
here from docs/protocol.md's definition, and against the CLI's (otpfob.check)."""

import hashlib
import json
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALGORITHMS = ["SHA1", "SHA256", "SHA512", "STEAM"]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js")


def shown(h):
    top = int.from_bytes(h[:3], "big") >> 4
    text = "".join(ALPHABET[(top >> s) & 31] for s in (15, 10, 5, 0))
    return text[:2] + "-" + text[2:]


def accounts_check(accounts):
    h = hashlib.sha1(b"otpfob check").digest()
    for a in accounts:
        issuer, name = a["issuer"].encode(), a["name"].encode()
        secret = bytes.fromhex(a["secret"])
        hotp = a.get("type") == "hotp"
        part = (
            bytes([len(issuer)])
            + issuer
            + bytes([len(name)])
            + name
            + bytes([len(secret)])
            + secret
            + bytes(
                [ALGORITHMS.index(a["algorithm"]), 5 if a["algorithm"] == "STEAM" else a["digits"]]
            )
            + struct.pack(">I", 0 if hotp else a["period"])
            + bytes([1 if hotp else 0])
            + struct.pack(">I", a.get("counter", 0) if hotp else 0)
        )
        h = hashlib.sha1(h + part).digest()
    return shown(h)


def password_check(key):
    return shown(hashlib.sha1(hashlib.sha1(b"otpfob check").digest() + b"password" + key).digest())


def test_the_pages_check_values_follow_the_protocol_definition(tmp_path):
    rng = random.Random(7)
    batches = []
    for n in range(40):
        batch = []
        for i in range(rng.randint(1, 5)):
            a = {
                "issuer": rng.choice(["", "Example", "Caf\u00e9", "x" * 64]),
                "name": "user%d-%d" % (n, i),
                "secret": bytes(rng.randrange(256) for _ in range(rng.randint(2, 64))).hex(),
                "algorithm": rng.choice(ALGORITHMS),
                "digits": rng.choice([5, 6, 7, 8]),
                "period": rng.choice([30, 60, 86400]),
            }
            if rng.random() < 0.3:
                a.update(type="hotp", counter=rng.randrange(2**32))
            batch.append(a)
        batches.append(batch)
    keys = [bytes(rng.randrange(256) for _ in range(32)).hex() for _ in range(10)]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"batches": batches, "keys": keys}))
    res = subprocess.run(
        ["node", str(HERE / "check_value.mjs"), str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    page = json.loads(res.stdout)
    want = [accounts_check(b) for b in batches]
    assert len(set(want)) > 30  # values spread over the alphabet
    assert page["batches"] == want
    assert page["keys"] == [password_check(bytes.fromhex(k)) for k in keys]
    # ... and the CLI shows the same values for the same changes.
    from otpfob import check
    from otpfob.otpauth import Account

    # (Only batches the CLI can hold: digits 6-8, no Steam HOTP.)
    usable = [
        i
        for i, b in enumerate(batches)
        if all(a["algorithm"] == "STEAM" or a["digits"] >= 6 for a in b)
        and not any(a.get("type") == "hotp" and a["algorithm"] == "STEAM" for a in b)
    ]
    assert len(usable) > 10
    cli = [
        check.text(
            check.accounts(
                [
                    Account(
                        a["name"],
                        bytes.fromhex(a["secret"]),
                        issuer=a["issuer"],
                        algorithm=a["algorithm"],
                        digits=a["digits"],
                        period=a["period"],
                        kind=a.get("type", "totp"),
                        counter=a.get("counter", 0),
                    )
                    for a in batches[i]
                ]
            )
        )
        for i in usable
    ]
    assert [page["batches"][i] for i in usable] == cli
    assert page["keys"] == [check.text(check.password(bytes.fromhex(k))) for k in keys]
