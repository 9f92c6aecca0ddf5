"""FreeOTP. Version 1.x keeps its tokens in shared_prefs/tokens.xml, an Android
preferences file: one <string> per token holding its JSON (secret as a Java byte array,
issuerExt, label, type TOTP or HOTP, algo, digits, period, counter) plus a "tokenOrder".
Version 2.x backups (the app's Backup, "externalBackup.xml") are a serialized Java
HashMap: "masterKey" holds a 256-bit key sealed with AES-256-GCM under
PBKDF2(password, mSalt, mIterations; HmacSHA1 or HmacSHA512), "UUID" entries hold each
token's secret sealed with AES-GCM under the master key (the key's algorithm name, mToken,
is the associated data; the nonce is in mParameters, DER GCMParameters), "UUID-token" the
token's JSON without its secret.

FreeOTP 1.x (and FreeOTP+) keep an HOTP token's last used counter (a URI's counter minus
one) and count up before each code; 2.x keeps the counter of the next code. An account on
the fob holds the counter of its next code, as an otpauth:// URI does."""

import json

from . import javaser
from .base import ImportFileError, aes_gcm_open, int_of, pbkdf2, signed_bytes, text_of

NAME = "freeotp"
TITLE = "FreeOTP tokens.xml (1.x) or backup (2.x, with its password)"

KDFS = {"pbkdf2withhmacsha1": "sha1", "pbkdf2withhmacsha512": "sha512"}


def detect(source):
    if javaser.is_serialized(source.data):
        return True
    root = source.xml
    return (
        root is not None
        and root.tag == "map"
        and any(el.tag == "string" and '"secret"' in (el.text or "") for el in root)
    )


def read(source, found):
    if javaser.is_serialized(source.data):
        _read_v2(source, found)
        return
    root = source.xml
    if root is None or root.tag != "map":
        raise ImportFileError("%s is not FreeOTP's tokens.xml" % source.where)
    n = 0
    for el in root:
        if el.tag != "string" or el.get("name") == "tokenOrder":
            continue
        n += 1
        where = "%s token %d" % (source.where, n)
        try:
            token = json.loads(el.text or "")
        except ValueError:
            found.skip(el.get("name"), where, "the token is not JSON")
            continue
        token_entry(token, where, found, next_counter=1)


def token_entry(token, where, found, secret=None, next_counter=0):
    """One FreeOTP / FreeOTP+ token (its JSON object); `next_counter` is what to add to its
    counter to get the next code's."""
    if not isinstance(token, dict):
        found.skip(None, where, "not a token")
        return
    issuer = text_of(token.get("issuerExt")) or text_of(token.get("issuerInt"))
    name = text_of(token.get("label"))
    label = "%s:%s" % (issuer, name) if issuer else name
    kind = text_of(token.get("type")).upper() or "TOTP"
    if kind not in ("TOTP", "HOTP"):
        found.skip(label, where, "%s codes are not supported by the fob" % kind)
        return
    try:
        if secret is None:
            secret = signed_bytes(token.get("secret"))
        found.add(
            where,
            name or issuer,
            secret,
            issuer=issuer,
            algorithm=text_of(token.get("algo")) or "SHA1",
            digits=int_of(token.get("digits"), 6),
            period=int_of(token.get("period"), 30),
            kind=kind.lower(),
            counter=int_of(token.get("counter"), 0) + (next_counter if kind == "HOTP" else 0),
        )
    except ValueError as exc:
        found.skip(label, where, str(exc))


def gcm_nonce(der):
    """The nonce in DER GCMParameters (SEQUENCE { OCTET STRING nonce, INTEGER tagLen }),
    or in a bare OCTET STRING."""
    der = bytes(der)
    if der[:1] == b"\x30":
        der = der[2:]
    if der[:1] != b"\x04" or len(der) < 2 or len(der) < 2 + der[1]:
        raise ImportFileError("the cipher parameters hold no nonce")
    return der[2 : 2 + der[1]]


def _open_key(key_obj, key, what):
    if not isinstance(key_obj, dict) or key_obj.get("mCipher") != "AES/GCM/NoPadding":
        raise ImportFileError(
            "%s: unexpected cipher %r"
            % (what, (key_obj or {}).get("mCipher") if isinstance(key_obj, dict) else None)
        )
    return aes_gcm_open(
        key,
        gcm_nonce(signed_bytes(key_obj.get("mParameters"), "parameters")),
        signed_bytes(key_obj.get("mCipherText"), "cipher text"),
        aad=text_of(key_obj.get("mToken")).encode("utf-8"),
        what=what,
    )


def _read_v2(source, found):
    try:
        entries = javaser.read_hashmap(source.data)
        master = json.loads(entries["masterKey"])
        kdf = KDFS[text_of(master.get("mAlgorithm")).lower()]
        salt = signed_bytes(master.get("mSalt"), "salt")
        rounds = int(master["mIterations"])
    except javaser.JavaSerError as exc:
        raise ImportFileError("%s: not a FreeOTP backup (%s)" % (source.where, exc)) from None
    except (KeyError, ValueError, TypeError, AttributeError):
        raise ImportFileError(
            "%s: the FreeOTP backup has no usable master key" % source.where
        ) from None
    key = pbkdf2(found.passwords.get(source.where), salt, rounds, 32, kdf)
    master_key = _open_key(master.get("mEncryptedKey"), key, source.where)
    n = 0
    for uuid in sorted(entries):
        if uuid == "masterKey" or uuid.endswith("-token"):
            continue
        n += 1
        where = "%s token %d" % (source.where, n)
        try:
            token = json.loads(entries.get(uuid + "-token") or "")
            sealed = json.loads(json.loads(entries[uuid])["key"])
        except (ValueError, KeyError, TypeError):
            found.skip(uuid, where, "the token's entry is damaged")
            continue
        try:
            secret = _open_key(sealed, master_key, where)
        except ImportFileError as exc:
            found.skip(uuid, where, str(exc))
            continue
        token_entry(token, where, found, secret)
