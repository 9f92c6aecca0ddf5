"""andOTP backups (Backups > Backup (plain) / Backup (encrypted)). Plain: a JSON list of
entries with a base32 "secret", "type" (TOTP, HOTP, STEAM), "issuer" and "label" (older
versions: "issuer - label" in label alone). Encrypted (.json.aes): 4 bytes of PBKDF2
rounds (big-endian), a 12-byte salt, a 12-byte nonce, then AES-256-GCM under
PBKDF2-HMAC-SHA1(password, salt, rounds); the oldest backups have no rounds or salt and use
SHA-256 of the password as the key."""

import json
import struct

from .base import ImportFileError, WrongPassword, add_typed, aes_gcm_open, pbkdf2, text_of

NAME = "andotp"
TITLE = "andOTP backup (.json plain, or .json.aes encrypted)"

SALT = 12
NONCE = 12
TAG = 16
MAX_ROUNDS = 10000000


def _is_entries(doc):
    return (
        isinstance(doc, list)
        and doc
        and all(isinstance(e, dict) and "secret" in e and "type" in e and "label" in e for e in doc)
    )


def looks_encrypted(data):
    """An andOTP encrypted backup has no magic; its first 4 bytes are a plausible round
    count and it is long enough to hold the header and a tag."""
    if len(data) < 4 + SALT + NONCE + TAG + 2:
        return False
    rounds = struct.unpack(">I", data[:4])[0]
    return 1000 <= rounds <= MAX_ROUNDS


def detect(source):
    return _is_entries(source.json)


def read(source, found):
    doc = source.json
    if doc is None:
        doc = _decrypt(source.data, source, found)
    if not isinstance(doc, list):
        raise ImportFileError("%s: not an andOTP backup (a list of entries)" % source.where)
    for n, entry in enumerate(doc, 1):
        _entry(entry, "%s entry %d" % (source.where, n), found)


def _entry(entry, where, found):
    if not isinstance(entry, dict):
        found.skip(None, where, "not an entry")
        return
    issuer, name = text_of(entry.get("issuer")), text_of(entry.get("label"))
    if "issuer" not in entry and " - " in name:
        issuer, name = (p.strip() for p in name.split(" - ", 1))
    kind = text_of(entry.get("type"))
    add_typed(found, where, issuer, name, text_of(entry.get("secret")), kind, entry)


def _decrypt(data, source, found):
    import hashlib

    if len(data) < NONCE + TAG:
        raise ImportFileError("%s is too short to be an andOTP backup" % source.where)
    password = found.passwords.get(source.where)
    tries = []
    if looks_encrypted(data):
        rounds = struct.unpack(">I", data[:4])[0]
        salt = data[4 : 4 + SALT]
        tries.append((pbkdf2(password, salt, rounds, 32, "sha1"), 4 + SALT))
    tries.append((hashlib.sha256(password.encode("utf-8")).digest(), 0))
    for key, start in tries:
        try:
            plain = aes_gcm_open(
                key, data[start : start + NONCE], data[start + NONCE :], what=source.where
            )
        except WrongPassword:
            continue
        try:
            return json.loads(plain.decode("utf-8"))
        except ValueError:
            raise ImportFileError(
                "%s: the decrypted andOTP backup is not JSON" % source.where
            ) from None
    raise WrongPassword("wrong password for %s (or not an andOTP backup)" % source.where)
