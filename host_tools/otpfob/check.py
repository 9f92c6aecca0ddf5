"""Check values: what a fob shows beside a question about a change this computer sent
("Check: K7-3F"), computed here from what was sent, so the holder can tell that the
question on the fob is about their own change and not another program's.

The spec is docs/protocol.md, "Check values"; the fob's side is firmware/lib/fob/check.py
(a separate implementation: the tests hold the two together).
"""

import hashlib
import struct

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALGORITHMS = ("SHA1", "SHA256", "SHA512", "STEAM")
_START = b"otpfob check"


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def start() -> bytes:
    return _sha1(_START)


def account(
    h: bytes,
    issuer: str,
    name: str,
    secret: bytes,
    algorithm: str = "SHA1",
    digits: int = 6,
    period: int = 30,
    kind: int = 0,
    counter: int = 0,
) -> bytes:
    """The chain `h` continued by one account, as the fob stores it."""
    i = issuer.encode("utf-8")
    n = name.encode("utf-8")
    alg = algorithm.upper()
    return _sha1(
        h
        + bytes([len(i)])
        + i
        + bytes([len(n)])
        + n
        + bytes([len(secret)])
        + secret
        + struct.pack(
            ">BBIBI", ALGORITHMS.index(alg), 5 if alg == "STEAM" else digits, period, kind, counter
        )
    )


def accounts(items) -> bytes:
    """The chain over accounts (objects with issuer, name, secret, algorithm, digits,
    period, and optionally kind/counter), in the order they were sent."""
    h = start()
    for a in items:
        hotp = getattr(a, "kind", "totp") == "hotp"
        h = account(
            h,
            a.issuer,
            a.name,
            a.secret,
            a.algorithm,
            a.digits,
            0 if hotp else a.period,
            1 if hotp else 0,
            (getattr(a, "counter", 0) or 0) if hotp else 0,
        )
    return h


def password(key: bytes) -> bytes:
    return _sha1(start() + b"password" + key)


def setup(time: int, key: bytes | None, items=()) -> bytes:
    """The chain for a fresh fob's setup: its time, the new password key (None: no
    password) and the chain of the accounts (as `accounts`)."""
    key = key or b""
    return _sha1(start() + b"setup" + struct.pack(">IB", time, len(key)) + key + accounts(items))


def text(h: bytes) -> str:
    """The top 20 bits of the chain as the fob draws them: "XX-XX"."""
    n = int.from_bytes(h[:3], "big") >> 4
    c = [ALPHABET[(n >> s) & 31] for s in (15, 10, 5, 0)]
    return c[0] + c[1] + "-" + c[2] + c[3]
