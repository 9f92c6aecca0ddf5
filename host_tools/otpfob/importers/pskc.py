"""PSKC, the Portable Symmetric Key Container (RFC 6030), read with python-pskc: the seed
files hardware token vendors ship and OTP servers (privacyIDEA, LinOTP) take, and what
`otpfob fleet provision --format pskc` writes. Secrets may be plain, or encrypted with a
pre-shared key (--pskc-key-file) or a password (PBKDF2, like any export's password).
HOTP and TOTP keys come across; other algorithms (OCRA, challenge/response) are skipped."""

from .base import ImportFileError, WrongPassword, text_of

NAME = "pskc"
TITLE = "PSKC key container (RFC 6030; token vendors' seed files, otpfob fleet's)"

NS = "urn:ietf:params:xml:ns:keyprov:pskc"
HOTP = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
TOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
SUITES = {
    "HMAC-SHA1": "SHA1",
    "HMAC-SHA256": "SHA256",
    "HMAC-SHA512": "SHA512",
    "HMAC-SHA-1": "SHA1",
    "HMAC-SHA-256": "SHA256",
    "HMAC-SHA-512": "SHA512",
    "SHA1": "SHA1",
    "SHA256": "SHA256",
    "SHA512": "SHA512",
}


def read_key(path):
    """A PSKC pre-shared key from a file: hex text (16, 24 or 32 bytes) or the raw bytes."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ImportFileError(
            "cannot read the key file %s (%s)" % (path, exc.strerror or exc)
        ) from None
    try:
        key = bytes.fromhex(raw.strip().decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) not in (16, 24, 32):
        raise ImportFileError(
            "the key file %s holds %d bytes; an AES key is 16, 24 or 32 "
            "bytes (or their hex)" % (path, len(key))
        )
    return key


def write(tokens, password=None, key=None):
    """A PSKC document (bytes) of TOTP tokens, their secrets encrypted (AES-CBC with an
    HMAC-SHA1 MAC, as RFC 6030 section 6 describes) under a password (PBKDF2, RFC 6030
    section 6.2) or a pre-shared key. Each token is a dict: upn, serial, secret, period,
    digits, algorithm (SHA1 unless given), issuer, manufacturer, model."""
    import io

    from pskc import PSKC

    container = PSKC()
    for t in tokens:
        container.add_key(
            secret=t["secret"],
            algorithm=TOTP,
            response_length=t.get("digits", 6),
            time_interval=t.get("period", 30),
            serial=t["serial"],
            manufacturer=t.get("manufacturer"),
            model=t.get("model"),
            key_userid=t["upn"],
            issuer=t.get("issuer"),
            algorithm_suite="HMAC-" + t.get("algorithm", "SHA1"),
        )
    if password is not None:
        container.encryption.setup_pbkdf2(password)
    elif key is not None:
        container.encryption.setup_preshared_key(key=key)
    else:
        raise ValueError("a PSKC file with secrets needs a password or a key")
    out = io.BytesIO()
    container.write(out)
    return out.getvalue()


def read_tokens(data, password=None, key=None):
    """The tokens of a PSKC document written by write() (or any with the same fields):
    dicts with upn, serial, secret, issuer. ImportFileError when it cannot be opened."""
    import io

    from pskc import PSKC
    from pskc.exceptions import DecryptionError, KeyDerivationError, ParseError

    try:
        container = PSKC(io.BytesIO(data))
        if container.encryption.is_encrypted:
            if container.encryption.derivation.algorithm:
                container.encryption.derive_key(password or "")
            else:
                container.encryption.key = key
        return [
            {
                "upn": text_of(k.key_userid),
                "serial": text_of(k.serial),
                "secret": k.secret,
                "issuer": text_of(k.issuer),
            }
            for k in container.keys
        ]
    except (DecryptionError, KeyDerivationError) as exc:
        raise WrongPassword("wrong password or key (%s)" % exc) from None
    except ParseError as exc:
        raise ImportFileError("not a readable PSKC file (%s)" % exc) from None


def detect(source):
    root = source.xml
    return root is not None and root.tag == "{%s}KeyContainer" % NS


def read(source, found):
    import io

    from pskc import PSKC
    from pskc.exceptions import DecryptionError, ParseError

    try:
        container = PSKC(io.BytesIO(source.data))
    except ParseError as exc:
        raise ImportFileError("%s: not a readable PSKC file (%s)" % (source.where, exc)) from None
    if container.encryption.is_encrypted:
        _unlock(container, source, found)
    for n, key in enumerate(container.keys, 1):
        where = "%s key %d" % (source.where, n)
        try:
            secret = key.secret
        except DecryptionError as exc:
            raise WrongPassword("wrong password or key for %s (%s)" % (source.where, exc)) from None
        _key(key, secret, where, found)


def _unlock(container, source, found):
    from pskc.exceptions import KeyDerivationError

    enc = container.encryption
    if enc.derivation.algorithm:
        try:
            enc.derive_key(found.passwords.get(source.where))
        except KeyDerivationError as exc:
            raise ImportFileError("%s: %s" % (source.where, exc)) from None
        return
    key = found.passwords.key
    if key is None:
        raise ImportFileError(
            "%s is encrypted with a pre-shared key: give it with "
            "--pskc-key-file FILE (hex)" % source.where
        )
    enc.key = key


def _key(key, secret, where, found):
    device = key.device
    name = (
        text_of(key.key_userid)
        or text_of(key.device_userid)
        or text_of(key.friendly_name)
        or text_of(device.serial if device else None)
    )
    issuer = text_of(key.issuer) or text_of(key.manufacturer)
    algorithm = text_of(key.algorithm)
    label = "%s:%s" % (issuer, name) if issuer else name
    if algorithm not in (HOTP, TOTP):
        found.skip(
            label,
            where,
            "algorithm %s is not HOTP or TOTP" % (algorithm.rsplit(":", 1)[-1] or "(none)"),
        )
        return
    if secret is None:
        found.skip(label, where, "the key has no secret")
        return
    suite = SUITES.get(text_of(key.algorithm_suite).upper().replace("_", "-") or "HMAC-SHA1")
    if suite is None:
        found.skip(label, where, "algorithm suite %s is not supported" % key.algorithm_suite)
        return
    hotp = algorithm == HOTP
    found.add(
        where,
        name or "token",
        secret,
        issuer=issuer,
        algorithm=suite,
        digits=key.response_length or 6,
        period=key.time_interval or 30,
        kind="hotp" if hotp else "totp",
        counter=(key.counter or 0) if hotp else 0,
    )
