"""Aegis Authenticator vaults (Settings > Import & Export > Export, "Aegis (.JSON)"), plain
or encrypted. Format: Aegis's docs/vault.md. An encrypted vault keeps a random master key
in password slots (type 1: scrypt of the password, with n, r, p and salt, unwraps the key
with AES-256-GCM); the entries ("db") are AES-256-GCM under the master key, with the
nonce and tag in header.params. Entry types: totp, hotp, steam (also motp and yandex,
which the fob cannot show)."""

import json

from .base import (
    ImportFileError,
    WrongPassword,
    aes_gcm_open,
    b64,
    int_of,
    object_of,
    text_of,
    unhex,
)

NAME = "aegis"
TITLE = "Aegis vault export (.json, plain or encrypted)"

PASSWORD_SLOT = 1
TYPES = {"totp": ("totp", None), "hotp": ("hotp", None), "steam": ("totp", "STEAM")}


def detect(source):
    doc = source.json
    return isinstance(doc, dict) and "header" in doc and "db" in doc


def read(source, found):
    doc = source.json
    db = doc.get("db")
    if isinstance(db, str):
        db = _decrypt(doc.get("header") or {}, db, source, found)
    if not isinstance(db, dict) or not isinstance(db.get("entries"), list):
        raise ImportFileError("%s: the Aegis vault has no entries list" % source.where)
    for n, entry in enumerate(db["entries"], 1):
        _entry(entry, "%s entry %d" % (source.where, n), found)


def _entry(entry, where, found):
    if not isinstance(entry, dict):
        found.skip(None, where, "not an entry")
        return
    issuer, name = text_of(entry.get("issuer")), text_of(entry.get("name"))
    kind = text_of(entry.get("type")).lower()
    info = object_of(entry, "info")
    if kind not in TYPES:
        found.skip(
            "%s:%s" % (issuer, name) if issuer else name,
            where,
            "%s codes are not supported by the fob" % (kind.upper() or "untyped"),
        )
        return
    otp_kind, algorithm = TYPES[kind]
    try:
        found.add(
            where,
            name,
            text_of(info.get("secret")),
            issuer=issuer,
            algorithm=algorithm or text_of(info.get("algo")) or "SHA1",
            digits=int_of(info.get("digits"), 6),
            period=int_of(info.get("period"), 30),
            kind=otp_kind,
            counter=int_of(info.get("counter"), 0),
        )
    except ValueError as exc:
        found.skip("%s:%s" % (issuer, name) if issuer else name, where, str(exc))


def _decrypt(header, blob, source, found):
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    slots = [
        s
        for s in header.get("slots") or ()
        if isinstance(s, dict) and s.get("type") == PASSWORD_SLOT
    ]
    params = header.get("params") or {}
    if not slots or not isinstance(params, dict):
        raise ImportFileError(
            "%s: the Aegis vault is encrypted but has no password slot "
            "(export it again with a password, or unencrypted)" % source.where
        )
    password = found.passwords.get(source.where).encode("utf-8")
    master = None
    for slot in slots:
        try:
            kdf = Scrypt(
                salt=unhex(slot["salt"], "salt"),
                length=32,
                n=int(slot["n"]),
                r=int(slot["r"]),
                p=int(slot["p"]),
            )
            key = kdf.derive(password)
            kp = slot["key_params"]
            master = aes_gcm_open(
                key,
                unhex(kp["nonce"], "nonce"),
                unhex(slot["key"], "key") + unhex(kp["tag"], "tag"),
                what=source.where,
            )
            break
        except WrongPassword:
            continue
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ImportFileError):
                raise
            raise ImportFileError(
                "%s: a password slot of the Aegis vault is damaged (%s)" % (source.where, exc)
            ) from None
    if master is None:
        raise WrongPassword(
            "wrong password for %s (no password slot of the Aegis vault "
            "opens with it)" % source.where
        )
    try:
        plain = aes_gcm_open(
            master,
            unhex(params["nonce"], "nonce"),
            b64(blob, "db") + unhex(params["tag"], "tag"),
            what=source.where,
        )
    except KeyError:
        raise ImportFileError("%s: the Aegis vault has no nonce or tag" % source.where) from None
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise ImportFileError("%s: the decrypted Aegis vault is not JSON" % source.where) from None
