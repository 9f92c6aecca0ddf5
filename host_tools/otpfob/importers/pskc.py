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
SUITES = {"HMAC-SHA1": "SHA1", "HMAC-SHA256": "SHA256", "HMAC-SHA512": "SHA512",
          "SHA1": "SHA1", "SHA256": "SHA256", "SHA512": "SHA512"}


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
        raise ImportFileError("%s: not a readable PSKC file (%s)" % (source.where, exc)) \
            from None
    if container.encryption.is_encrypted:
        _unlock(container, source, found)
    for n, key in enumerate(container.keys, 1):
        where = "%s key %d" % (source.where, n)
        try:
            secret = key.secret
        except DecryptionError as exc:
            raise WrongPassword("wrong password or key for %s (%s)" % (source.where, exc)) \
                from None
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
        raise ImportFileError("%s is encrypted with a pre-shared key: give it with "
                              "--pskc-key-file FILE (hex)" % source.where)
    enc.key = key


def _key(key, secret, where, found):
    device = key.device
    name = text_of(key.key_userid) or text_of(key.device_userid) or text_of(
        key.friendly_name) or text_of(device.serial if device else None)
    issuer = text_of(key.issuer) or text_of(key.manufacturer)
    algorithm = text_of(key.algorithm)
    label = "%s:%s" % (issuer, name) if issuer else name
    if algorithm not in (HOTP, TOTP):
        found.skip(label, where, "algorithm %s is not HOTP or TOTP"
                   % (algorithm.rsplit(":", 1)[-1] or "(none)"))
        return
    if secret is None:
        found.skip(label, where, "the key has no secret")
        return
    suite = SUITES.get(text_of(key.algorithm_suite).upper().replace("_", "-") or "HMAC-SHA1")
    if suite is None:
        found.skip(label, where, "algorithm suite %s is not supported" % key.algorithm_suite)
        return
    hotp = algorithm == HOTP
    found.add(where, name or "token", secret, issuer=issuer, algorithm=suite,
              digits=key.response_length or 6, period=key.time_interval or 30,
              kind="hotp" if hotp else "totp", counter=(key.counter or 0) if hotp else 0)
