"""Sample accounts for the importer tests, and the independent references their codes are
checked against (pyotp, oathtool when installed, and Steam Guard's reduction written out
from its definition). Shared by the test modules, like fakes.py.

Each sample is built by the tests from the exporting app's published format (the
docstrings of otpfob.importers name them); the odd corners are here: HOTP entries with
counters, a Steam entry, an empty issuer, non-ASCII labels, every algorithm and length.
"""

import base64
import hashlib
import hmac
import shutil
import struct
import subprocess

import pyotp

T = 1800000123  # the time codes are compared at


class Vector:
    def __init__(
        self, issuer, name, secret, kind="totp", algorithm="SHA1", digits=6, period=30, counter=0
    ):
        self.issuer = issuer
        self.name = name
        self.secret = secret  # base32, no padding
        self.kind = kind
        self.algorithm = algorithm  # SHA1, SHA256, SHA512 or STEAM
        self.digits = 5 if algorithm == "STEAM" else digits
        self.period = period
        self.counter = counter

    @property
    def label(self):
        return "%s:%s" % (self.issuer, self.name) if self.issuer else self.name

    @property
    def key(self):
        return base64.b32decode(self.secret + "=" * (-len(self.secret) % 8))

    def uri(self):
        from urllib.parse import quote

        label = quote(self.label, safe="@:")
        if self.algorithm == "STEAM":
            return "otpauth://totp/%s?secret=%s&issuer=%s&encoder=steam" % (
                label,
                self.secret,
                quote(self.issuer),
            )
        if self.kind == "hotp":
            return "otpauth://hotp/%s?secret=%s&issuer=%s&algorithm=%s&digits=%d&counter=%d" % (
                label,
                self.secret,
                quote(self.issuer),
                self.algorithm,
                self.digits,
                self.counter,
            )
        return "otpauth://totp/%s?secret=%s%s&algorithm=%s&digits=%d&period=%d" % (
            label,
            self.secret,
            "&issuer=" + quote(self.issuer) if self.issuer else "",
            self.algorithm,
            self.digits,
            self.period,
        )


VECTORS = [
    Vector("Deno", "Mason", "4SJHB4GSD43FZBAI7C2HLRJGPQ"),
    Vector("SPDX", "James", "5OM4WOOGPLQEF6UGN3CPEOOLWU", algorithm="SHA256", digits=7, period=20),
    Vector(
        "Bücher Straße",
        "jürgen@例え.jp",
        "7ELGJSGXNCCTV3O6LKJWYFV2RA",
        algorithm="SHA512",
        digits=8,
        period=60,
    ),
    Vector("Issuu", "James", "YOOMIXWS5GN6RTBPUFFWKTW5M4", kind="hotp", counter=1),
    Vector(
        "WWE",
        "Mason",
        "5VAML3X35THCEBVRLV24CGBKOY",
        kind="hotp",
        algorithm="SHA256",
        digits=8,
        counter=10300,
    ),
    Vector("Steam", "gabe", "JRZCL47CMXVOQMNPZR2F7J4RGI", algorithm="STEAM"),
    Vector("", "nobody@example.com", "KUVJJOM753IHTNDSZVCNKL7GII"),
]
TOTP_ONLY = [v for v in VECTORS if v.kind == "totp" and v.algorithm != "STEAM"]

STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"


def steam_reference(key, t, period=30):
    """Steam Guard: RFC 4226 truncation of HMAC-SHA1 over the time step, then five
    base-26 digits, least significant first, in Steam's alphabet."""
    mac = hmac.new(key, struct.pack(">Q", int(t) // period), hashlib.sha1).digest()
    offset = mac[19] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    out = []
    for _ in range(5):
        out.append(STEAM_ALPHABET[value % 26])
        value //= 26
    return "".join(out)


def reference_code(v, t=T):
    """The code of vector `v` from pyotp (and Steam's reduction)."""
    if v.algorithm == "STEAM":
        return steam_reference(v.key, t)
    digest = getattr(hashlib, v.algorithm.lower())
    if v.kind == "hotp":
        return pyotp.HOTP(v.secret, digits=v.digits, digest=digest).at(v.counter)
    return pyotp.TOTP(v.secret, digits=v.digits, digest=digest, interval=v.period).at(t)


def oathtool_code(v, t=T):
    """The code from oathtool (None when it is not installed, for Steam, and for HOTP
    with SHA-256/512, which oathtool does not compute)."""
    tool = shutil.which("oathtool")
    if tool is None or v.algorithm == "STEAM" or (v.kind == "hotp" and v.algorithm != "SHA1"):
        return None
    if v.kind == "hotp":
        args = [tool, "--hotp", "-c", str(v.counter)]
    else:
        args = [tool, "--totp=%s" % v.algorithm.lower(), "-s", "%ds" % v.period, "-N", "@%d" % t]
    args += ["-d", str(v.digits), "-b", v.secret]
    out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    return out.stdout.strip() if out.returncode == 0 else None


def fob_code(account, t=T):
    """The code the fob shows for an imported account: the firmware's own engine."""
    from fob import otp

    if account.kind == "hotp":
        return otp.hotp(
            account.secret,
            account.counter,
            digits=account.digits,
            algorithm=account.algorithm.lower(),
        )
    return otp.totp(
        account.secret,
        t,
        digits=account.digits,
        period=account.period,
        algorithm=account.algorithm.lower(),
    )


def check_accounts(items, vectors):
    """Every imported account matches its vector by label, with the vector's code from
    pyotp (and oathtool); `items` are (Account, where) or Accounts."""
    accounts = [i[0] if isinstance(i, tuple) else i for i in items]
    by_label = {a.label: a for a in accounts}
    assert sorted(by_label) == sorted(v.label for v in vectors), sorted(by_label)
    for v in vectors:
        a = by_label[v.label]
        assert (a.kind, a.algorithm, a.digits) == (v.kind, v.algorithm, v.digits), v.label
        assert a.secret == v.key, v.label
        if v.kind == "hotp":
            assert a.counter == v.counter, v.label
        else:
            assert a.period == v.period, v.label
        want = reference_code(v)
        assert fob_code(a) == want, v.label
        other = oathtool_code(v)
        if other is not None:
            assert other == want, v.label
