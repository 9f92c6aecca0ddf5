"""Bitwarden exports (Tools > Export vault): .json unencrypted or "password protected",
and .csv. Each login's "totp" holds an otpauth:// URI, a steam:// secret or a bare base32
secret; a bare secret is labelled with the item's name (issuer) and its username (name).

Password-protected JSON: {"encrypted": true, "passwordProtected": true, "salt",
"kdfType" (0 PBKDF2-SHA256 with kdfIterations; 1 Argon2id with kdfIterations, kdfMemory in
MiB and kdfParallelism over SHA-256 of the salt), "encKeyValidation_DO_NOT_EDIT", "data"}.
The derived key is stretched with HKDF-Expand-SHA256 ("enc", "mac") into an AES-256-CBC
key and an HMAC-SHA256 key; "data" is an encrypted string "2.iv|ciphertext|mac" (base64
parts; the MAC covers iv and ciphertext). The Bitwarden Authenticator app's JSON export
has the same shape."""

import csv
import hashlib
import hmac
import io
import json

from .base import ImportFileError, WrongPassword, b64, int_of, object_of, pbkdf2, text_of

NAME = "bitwarden"
TITLE = "Bitwarden export (.json, password-protected .json, .csv)"

KDF_PBKDF2 = 0
KDF_ARGON2ID = 1


def _csv_header(source):
    line = source.first_line().lower()
    return "login_totp" in line and "name" in line


def detect(source):
    doc = source.json
    if isinstance(doc, dict) and "encrypted" in doc and ("items" in doc or "data" in doc):
        return True
    return _csv_header(source)


def read(source, found):
    doc = source.json
    if doc is None:
        _read_csv(source, found)
        return
    if doc.get("encrypted"):
        if not doc.get("passwordProtected"):
            raise ImportFileError(
                "%s is an account-restricted Bitwarden export, which only "
                "the Bitwarden account that made it can read; export again "
                'as "Password protected" or unencrypted' % source.where
            )
        doc = _decrypt(doc, source, found)
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ImportFileError("%s: the Bitwarden export has no items list" % source.where)
    n = 0
    for item in items:
        if not isinstance(item, dict):
            continue
        login = object_of(item, "login")
        totp = text_of(login.get("totp"))
        if totp:
            n += 1
            entry(
                found,
                totp,
                text_of(item.get("name")),
                text_of(login.get("username")),
                "%s item %r" % (source.where, text_of(item.get("name")) or n),
            )


def _read_csv(source, found):
    from ..textfile import sniff_delimiter

    text = source.text or ""
    reader = csv.DictReader(
        io.StringIO(text.lstrip("\ufeff"), newline=""),
        delimiter=sniff_delimiter(source.first_line()),
    )
    try:
        for row in reader:
            totp = text_of(row.get("login_totp"))
            if totp:
                entry(
                    found,
                    totp,
                    text_of(row.get("name")),
                    text_of(row.get("login_username")),
                    "%s line %d" % (source.where, reader.line_num),
                )
    except csv.Error as exc:
        raise ImportFileError("%s: not a readable CSV file (%s)" % (source.where, exc)) from None


def entry(found, totp, item_name, username, where):
    """One totp field: a URI, a steam:// secret or a bare secret."""
    low = totp.lower()
    if low.startswith("otpauth:"):
        found.uri(totp, where, issuer=item_name or None)
    elif low.startswith("steam://"):
        found.uri(totp, where, name=username or item_name or None)
    else:
        found.add(
            where,
            username or item_name,
            totp.replace(" ", ""),
            issuer=item_name if username else "",
        )


def _stretch(key, info):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    return HKDFExpand(hashes.SHA256(), 32, info).derive(key)


def derive(password, doc):
    salt = text_of(doc.get("salt")).encode("utf-8")
    rounds = int_of(doc.get("kdfIterations"), 0)
    kdf = int_of(doc.get("kdfType"), KDF_PBKDF2)
    if kdf == KDF_PBKDF2:
        if rounds < 1:
            raise ImportFileError("the export's kdfIterations is missing")
        return pbkdf2(password, salt, rounds, 32, "sha256")
    if kdf == KDF_ARGON2ID:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        memory = int_of(doc.get("kdfMemory"), 64)
        lanes = int_of(doc.get("kdfParallelism"), 4)
        return Argon2id(
            salt=hashlib.sha256(salt).digest(),
            length=32,
            iterations=rounds,
            lanes=lanes,
            memory_cost=memory * 1024,
        ).derive(password.encode("utf-8"))
    raise ImportFileError("unknown kdfType %r" % doc.get("kdfType"))


def open_string(enc, keys, what):
    """A Bitwarden encrypted string of type 2 (AES-256-CBC with HMAC-SHA256)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc_key, mac_key = keys
    kind, _, body = text_of(enc).partition(".")
    parts = body.split("|")
    if kind != "2" or len(parts) != 3:
        raise ImportFileError("%s: unsupported encrypted string (type %s)" % (what, kind))
    iv, data, mac = (b64(p, "encrypted string") for p in parts)
    if not hmac.compare_digest(hmac.new(mac_key, iv + data, hashlib.sha256).digest(), mac):
        raise WrongPassword("wrong password for %s (its check value does not match)" % what)
    try:
        plain = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
        raw = plain.update(data) + plain.finalize()
        unpad = padding.PKCS7(128).unpadder()
        return unpad.update(raw) + unpad.finalize()
    except ValueError:
        raise ImportFileError("%s: the encrypted data is damaged" % what) from None


def _decrypt(doc, source, found):
    key = derive(found.passwords.get(source.where), doc)
    keys = (_stretch(key, b"enc"), _stretch(key, b"mac"))
    if doc.get("encKeyValidation_DO_NOT_EDIT"):
        open_string(doc["encKeyValidation_DO_NOT_EDIT"], keys, source.where)
    plain = open_string(doc.get("data"), keys, source.where)
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise ImportFileError(
            "%s: the decrypted Bitwarden export is not JSON" % source.where
        ) from None
