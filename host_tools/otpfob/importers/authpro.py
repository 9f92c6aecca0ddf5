"""Authenticator Pro backups (Settings > Backup > Backup to file): JSON with
"Authenticators" ([{"Type", "Issuer", "Username", "Secret", "Algorithm", "Digits",
"Period", "Counter"}]), or that JSON encrypted: "AUTHENTICATORPRO", a 16-byte salt, a
12-byte nonce, then AES-256-GCM under Argon2id(password, salt; 3 passes, 64 MiB, 4 lanes).
Types: 1 HOTP, 2 TOTP, 4 Steam (3 mOTP and 5 Yandex cannot be shown by the fob);
algorithms: 0 SHA-1, 1 SHA-256, 2 SHA-512."""

import json

from .base import ImportFileError, aes_gcm_open, int_of, text_of

NAME = "authpro"
TITLE = "Authenticator Pro backup (.json, or .authpro with a password)"

HEADER = b"AUTHENTICATORPRO"
LEGACY_HEADER = b"AuthenticatorPro"
TYPES = {1: ("hotp", None), 2: ("totp", None), 4: ("totp", "STEAM")}
TYPE_NAMES = {3: "mOTP", 5: "Yandex"}
ALGORITHMS = {0: "SHA1", 1: "SHA256", 2: "SHA512"}


def detect(source):
    if source.data.startswith((HEADER, LEGACY_HEADER)):
        return True
    doc = source.json
    return isinstance(doc, dict) and isinstance(doc.get("Authenticators"), list)


def read(source, found):
    doc = source.json
    if source.data.startswith(LEGACY_HEADER):
        raise ImportFileError(
            "%s is an encrypted backup of an old Authenticator Pro; make a "
            "new backup with a current version (or without a password)" % source.where
        )
    if source.data.startswith(HEADER):
        doc = _decrypt(source, found)
    if not isinstance(doc, dict) or not isinstance(doc.get("Authenticators"), list):
        raise ImportFileError("%s: not an Authenticator Pro backup" % source.where)
    for n, item in enumerate(doc["Authenticators"], 1):
        _entry(item, "%s entry %d" % (source.where, n), found)


def _entry(item, where, found):
    if not isinstance(item, dict):
        found.skip(None, where, "not an entry")
        return
    issuer, name = text_of(item.get("Issuer")), text_of(item.get("Username"))
    label = "%s:%s" % (issuer, name) if issuer else name
    try:
        kind = int_of(item.get("Type"), 2)
        if kind not in TYPES:
            found.skip(
                label,
                where,
                "%s codes are not supported by the fob" % TYPE_NAMES.get(kind, "type %d" % kind),
            )
            return
        otp_kind, steam = TYPES[kind]
        algorithm = ALGORITHMS.get(int_of(item.get("Algorithm"), 0))
        if algorithm is None:
            found.skip(label, where, "unknown algorithm %r" % item.get("Algorithm"))
            return
        found.add(
            where,
            name or issuer,
            text_of(item.get("Secret")),
            issuer=issuer if name else "",
            algorithm=steam or algorithm,
            digits=int_of(item.get("Digits"), 6),
            period=int_of(item.get("Period"), 30),
            kind=otp_kind,
            counter=int_of(item.get("Counter"), 0),
        )
    except ValueError as exc:
        found.skip(label, where, str(exc))


def _decrypt(source, found):
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    data = source.data[len(HEADER) :]
    if len(data) < 16 + 12 + 16:
        raise ImportFileError("%s: the Authenticator Pro backup is too short" % source.where)
    salt, nonce = data[:16], data[16:28]
    key = Argon2id(salt=salt, length=32, iterations=3, lanes=4, memory_cost=64 * 1024).derive(
        found.passwords.get(source.where).encode("utf-8")
    )
    plain = aes_gcm_open(key, nonce, data[28:], what=source.where)
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise ImportFileError("%s: the decrypted backup is not JSON" % source.where) from None
