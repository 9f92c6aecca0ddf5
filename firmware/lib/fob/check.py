# Check values: four characters on a prompt ("Check: K7-3F") that the host which sent a
# change computes too and shows its user, so the holder can tell that the change waiting
# for a press is the one their own program asked for and not another program's.
#
# A chain of SHA-1 digests (docs/protocol.md, "Check values"): it starts from the digest
# of a label and takes one account (or the new password key) at a time, so a staged
# import adds each part as it comes and never holds more than 20 bytes of it. The value
# depends on the secrets, which a program that did not send them cannot know.
import struct

from fob.hmac import digest
from fob.vault import ALGORITHMS

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: nothing to misread
_START = b"otpfob check"
_PASSWORD = b"password"


def start():
    return digest("sha1", _START)


def account(h, issuer, name, secret, algorithm, digits, period, kind=0, counter=0):
    """The chain `h` continued by one account (issuer and name as UTF-8 bytes, the
    secret as raw bytes, the algorithm as its index in vault.ALGORITHMS)."""
    return digest("sha1", h + bytes((len(issuer),)) + issuer + bytes((len(name),)) + name
                  + bytes((len(secret),)) + secret
                  + struct.pack(">BBIBI", algorithm, digits, period, kind, counter))


def of(h, acc, counter=None):
    """The chain `h` continued by vault Account `acc` (an HOTP one with its counter)."""
    return account(h, acc.issuer.encode("utf-8"), acc.name.encode("utf-8"), acc.secret,
                   ALGORITHMS.index(acc.algorithm), acc.digits,
                   0 if counter is not None else acc.period, 1 if counter is not None else 0,
                   counter or 0)


def password(key):
    """The chain for a new password key."""
    return digest("sha1", start() + _PASSWORD + key)


def text(h):
    """The top 20 bits of the chain `h` as "XX-XX"."""
    n = (h[0] << 12) | (h[1] << 4) | (h[2] >> 4)
    c = [_ALPHABET[(n >> s) & 31] for s in (15, 10, 5, 0)]
    return c[0] + c[1] + "-" + c[2] + c[3]
