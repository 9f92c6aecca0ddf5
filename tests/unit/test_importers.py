"""Every importer on a sample built here from the exporting app's published format, with
the odd corners (HOTP, Steam, empty issuer, non-ASCII names, repeated and clashing
entries, wrong passwords); every imported account's code is checked against pyotp (and
oathtool where installed) by export_samples.check_accounts."""

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import struct
import zipfile

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from export_samples import TOTP_ONLY, VECTORS, Vector, check_accounts

from otpfob import migration
from otpfob.importers import (
    ImportFileError,
    PasswordNeeded,
    Passwords,
    WrongPassword,
    collect,
    format_names,
)

PASSWORD = "correct horse 🐎 battery"


def read(path, password=None, fmt=None, **kw):
    return collect([("file", str(path))], Passwords(password, **kw), fmt)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def pbkdf2(password, salt, rounds, algo=hashes.SHA256, length=32):
    return PBKDF2HMAC(algo(), length, salt, rounds).derive(password.encode("utf-8"))


def gcm(key, plain, aad=None):
    nonce = os.urandom(12)
    return nonce, AESGCM(key).encrypt(nonce, plain, aad)


def _kind_upper(v):
    return "STEAM" if v.algorithm == "STEAM" else v.kind.upper()


# --- Aegis ---------------------------------------------------------------------------------


def aegis_db(vectors):
    entries = []
    for v in vectors:
        info = {
            "secret": v.secret,
            "algo": "SHA1" if v.algorithm == "STEAM" else v.algorithm,
            "digits": v.digits,
        }
        if v.kind == "hotp":
            info["counter"] = v.counter
        else:
            info["period"] = v.period
        entries.append(
            {
                "type": "steam" if v.algorithm == "STEAM" else v.kind,
                "uuid": "01234567-89ab-cdef-0123-456789abcdef",
                "name": v.name,
                "issuer": v.issuer,
                "note": "",
                "favorite": False,
                "icon": None,
                "info": info,
                "groups": [],
            }
        )
    entries.append(
        {
            "type": "motp",
            "uuid": "x",
            "name": "pin",
            "issuer": "Old",
            "info": {
                "secret": "JBSWY3DPEHPK3PXP",
                "algo": "MD5",
                "digits": 6,
                "period": 10,
                "pin": "1234",
            },
        }
    )
    return {"version": 3, "entries": entries, "groups": []}


def aegis_encrypted(db, password):
    master = os.urandom(32)
    salt = os.urandom(32)
    key = Scrypt(salt=salt, length=32, n=2**12, r=8, p=1).derive(password.encode("utf-8"))
    knonce, wrapped = gcm(key, master)
    dnonce, sealed = gcm(master, json.dumps(db).encode("utf-8"))
    slot = {
        "type": 1,
        "uuid": "u",
        "key": wrapped[:-16].hex(),
        "key_params": {"nonce": knonce.hex(), "tag": wrapped[-16:].hex()},
        "n": 2**12,
        "r": 8,
        "p": 1,
        "salt": salt.hex(),
    }
    biometric = dict(slot, type=2, key=os.urandom(32).hex())
    return {
        "version": 1,
        "header": {
            "slots": [biometric, slot],
            "params": {"nonce": dnonce.hex(), "tag": sealed[-16:].hex()},
        },
        "db": base64.b64encode(sealed[:-16]).decode("ascii"),
    }


def test_aegis_plain_vault(tmp_path):
    doc = {"version": 1, "header": {"slots": None, "params": None}, "db": aegis_db(VECTORS)}
    got = read(write(tmp_path, "aegis.json", json.dumps(doc, ensure_ascii=False)))
    check_accounts(got.items, VECTORS)
    assert [(s.label, s.where) for s in got.skipped] == [
        ("Old:pin", "%s entry 8" % (tmp_path / "aegis.json"))
    ]
    assert "MOTP codes are not supported" in got.skipped[0].reason


def test_aegis_encrypted_vault_and_a_wrong_password(tmp_path):
    path = write(
        tmp_path, "aegis-export.json", json.dumps(aegis_encrypted(aegis_db(VECTORS), PASSWORD))
    )
    check_accounts(read(path, PASSWORD).items, VECTORS)
    with pytest.raises(WrongPassword, match="wrong password for .*aegis-export.json"):
        read(path, "not it")
    with pytest.raises(PasswordNeeded, match="--export-password-file"):
        read(path)


def test_aegis_plain_text_export_keeps_hotp_lines(tmp_path):
    path = write(tmp_path, "aegis-export-uri.txt", "\n".join(v.uri() for v in VECTORS) + "\n")
    check_accounts(read(path).items, VECTORS)


# --- 2FAS ----------------------------------------------------------------------------------


def twofas_services(vectors, schema):
    services = []
    for n, v in enumerate(vectors):
        otp = {
            "account": v.name,
            "issuer": v.issuer,
            "digits": v.digits,
            "algorithm": "SHA1" if v.algorithm == "STEAM" else v.algorithm,
        }
        if schema >= 3:
            otp.update(label=v.name, tokenType=_kind_upper(v), source="Link", link=v.uri())
        else:
            otp["label"] = v.label
        if v.kind == "hotp":
            otp["counter"] = v.counter
        else:
            otp["period"] = v.period
        services.append(
            {
                "name": v.issuer,
                "secret": v.secret,
                "updatedAt": 1702934567518,
                "otp": otp,
                "order": {"position": n},
            }
        )
    return services


@pytest.mark.parametrize("schema", [1, 2, 3, 4])
def test_2fas_plain_every_schema(tmp_path, schema):
    vectors = VECTORS if schema >= 3 else TOTP_ONLY  # no tokenType before schema 3
    doc = {
        "services": twofas_services(vectors, schema),
        "updatedAt": 1702934732299,
        "schemaVersion": schema,
        "appVersionCode": 5000009,
        "appOrigin": "android",
        "groups": [],
    }
    check_accounts(read(write(tmp_path, "backup.2fas", json.dumps(doc))).items, vectors)


@pytest.mark.parametrize("schema", [2, 4])
def test_2fas_with_a_password(tmp_path, schema):
    vectors = VECTORS if schema >= 3 else TOTP_ONLY
    salt, iv = os.urandom(256), os.urandom(12)
    key = pbkdf2(PASSWORD, salt, 10000)
    sealed = AESGCM(key).encrypt(iv, json.dumps(twofas_services(vectors, schema)).encode(), None)
    b = [base64.b64encode(x).decode() for x in (sealed, salt, iv)]
    doc = {
        "services": [],
        "groups": [],
        "schemaVersion": schema,
        "appOrigin": "android",
        "servicesEncrypted": ":".join(b),
        "reference": "x:y:z",
    }
    path = write(tmp_path, "backup.2fas", json.dumps(doc))
    check_accounts(read(path, PASSWORD).items, vectors)
    with pytest.raises(WrongPassword):
        read(path, PASSWORD + "!")


# --- andOTP --------------------------------------------------------------------------------


def andotp_entries(vectors):
    out = []
    for v in vectors:
        e = {
            "secret": v.secret,
            "issuer": v.issuer,
            "label": v.name,
            "digits": v.digits,
            "type": _kind_upper(v),
            "algorithm": "SHA1" if v.algorithm == "STEAM" else v.algorithm,
            "thumbnail": "Default",
            "last_used": 0,
            "tags": [],
        }
        if v.kind == "hotp":
            e["counter"] = v.counter
        else:
            e["period"] = v.period
        out.append(e)
    return out


def test_andotp_plain_and_old_labels(tmp_path):
    entries = andotp_entries(VECTORS)
    check_accounts(read(write(tmp_path, "otp_accounts.json", json.dumps(entries))).items, VECTORS)
    old = [
        dict((k, x) for k, x in e.items() if k != "issuer") for e in andotp_entries(TOTP_ONLY[:1])
    ]
    old[0]["label"] = "Deno - Mason"
    check_accounts(read(write(tmp_path, "old.json", json.dumps(old))).items, TOTP_ONLY[:1])


def test_andotp_encrypted_new_and_old_formats(tmp_path):
    plain = json.dumps(andotp_entries(VECTORS)).encode()
    salt = os.urandom(12)
    key = pbkdf2(PASSWORD, salt, 2000, hashes.SHA1)
    nonce, sealed = gcm(key, plain)
    path = write(tmp_path, "otp_accounts.json.aes", struct.pack(">I", 2000) + salt + nonce + sealed)
    check_accounts(read(path, PASSWORD).items, VECTORS)
    with pytest.raises(WrongPassword, match="or not an andOTP backup"):
        read(path, "nope")
    # The oldest backups: the key is SHA-256 of the password, no header (found with
    # --format andotp, as nothing in such a file says what it is).
    nonce, sealed = gcm(hashlib.sha256(PASSWORD.encode()).digest(), plain)
    old = write(tmp_path, "old.json.aes", nonce + sealed)
    check_accounts(read(old, PASSWORD, fmt="andotp").items, VECTORS)


# --- FreeOTP, FreeOTP+ ---------------------------------------------------------------------


def freeotp_token(v, with_secret=True):
    t = {
        "algo": v.algorithm,
        "digits": v.digits,
        "issuerExt": v.issuer,
        "issuerInt": v.issuer,
        "label": v.name,
        "type": v.kind.upper(),
    }
    if v.kind == "hotp":
        # FreeOTP 1.x and FreeOTP+ keep the last used counter: one less than the next.
        t["counter"] = v.counter - (1 if with_secret else 0)
    else:
        t["period"] = v.period
    if with_secret:
        t["secret"] = [b - 256 if b > 127 else b for b in v.key]
    return t


FREEOTP_VECTORS = [v for v in VECTORS if v.algorithm != "STEAM"]


def test_freeotp_1_tokens_xml(tmp_path):
    from xml.sax.saxutils import escape, quoteattr

    body = ["<?xml version='1.0' encoding='utf-8' standalone='yes' ?>", "<map>"]
    for v in FREEOTP_VECTORS:
        body.append(
            "    <string name=%s>%s</string>"
            % (quoteattr(v.label), escape(json.dumps(freeotp_token(v)), {'"': "&quot;"}))
        )
    body.append(
        '    <string name="tokenOrder">%s</string>'
        % escape(json.dumps([v.label for v in FREEOTP_VECTORS]), {'"': "&quot;"})
    )
    body.append("</map>")
    got = read(write(tmp_path, "tokens.xml", "\n".join(body)))
    check_accounts(got.items, FREEOTP_VECTORS)


def test_freeotp_plus_json(tmp_path):
    doc = {
        "tokenOrder": [v.label for v in FREEOTP_VECTORS],
        "tokens": [freeotp_token(v) for v in FREEOTP_VECTORS],
    }
    check_accounts(
        read(write(tmp_path, "freeotp-backup.json", json.dumps(doc))).items, FREEOTP_VECTORS
    )


def java_hashmap(mapping):
    """A java.util.HashMap<String, String> in Java's serialization stream format (Java
    Object Serialization Specification, chapter 6)."""

    def utf(text):
        raw = text.encode("utf-8")
        return struct.pack(">H", len(raw)) + raw

    out = struct.pack(">HH", 0xACED, 5) + b"\x73\x72" + utf("java.util.HashMap")
    out += struct.pack(">q", 362498820763181265) + b"\x03" + struct.pack(">H", 2)
    out += b"F" + utf("loadFactor") + b"I" + utf("threshold") + b"\x78\x70"
    out += struct.pack(">fi", 0.75, 12) + b"\x77\x08" + struct.pack(">ii", 16, len(mapping))
    for k, v in mapping.items():
        out += b"\x74" + utf(k) + b"\x74" + utf(v)
    return out + b"\x78"


def _sealed(key, plain, token):
    nonce, sealed = gcm(key, plain, token.encode())
    params = b"\x30\x11\x04\x0c" + nonce + b"\x02\x01\x10"  # DER GCMParameters
    as_java = [b - 256 if b > 127 else b for b in sealed]
    return {
        "mCipher": "AES/GCM/NoPadding",
        "mCipherText": as_java,
        "mParameters": [b - 256 if b > 127 else b for b in params],
        "mToken": token,
    }


def freeotp2_backup(vectors, password, rounds=1000):
    salt = os.urandom(32)
    pass_key = pbkdf2(password, salt, rounds, hashes.SHA512)
    master = os.urandom(32)
    entries = {
        "masterKey": json.dumps(
            {
                "mAlgorithm": "PBKDF2withHmacSHA512",
                "mEncryptedKey": _sealed(pass_key, master, "AES"),
                "mIterations": rounds,
                "mSalt": [b - 256 if b > 127 else b for b in salt],
            }
        )
    }
    for n, v in enumerate(vectors):
        uuid = "4a770c9c-9f81-4718-9791-%012d" % n
        entries[uuid] = json.dumps(
            {"key": json.dumps(_sealed(master, v.key, "Hmac" + v.algorithm))}
        )
        entries[uuid + "-token"] = json.dumps(freeotp_token(v, with_secret=False))
    return java_hashmap(entries)


def test_freeotp_2_backup_with_its_password(tmp_path):
    path = write(tmp_path, "externalBackup.xml", freeotp2_backup(FREEOTP_VECTORS, PASSWORD))
    check_accounts(read(path, PASSWORD).items, FREEOTP_VECTORS)
    with pytest.raises(WrongPassword):
        read(path, "wrong")


# --- Bitwarden -----------------------------------------------------------------------------


def bitwarden_items(vectors):
    items = []
    for n, v in enumerate(vectors):
        totp = v.uri()
        if v.algorithm == "STEAM":
            totp = "steam://" + v.secret
        items.append(
            {
                "id": "id%d" % n,
                "type": 1,
                "name": v.issuer or "Personal",
                "login": {"username": v.name, "password": None, "totp": totp},
            }
        )
    # A bare secret: labelled with the item's name and username.
    items.append(
        {
            "id": "bare",
            "type": 1,
            "name": "Forge",
            "login": {"username": "ana", "totp": "JBSW Y3DP EHPK 3PXP JBSW Y3DP"},
        }
    )
    items.append({"id": "note", "type": 2, "name": "Just a note"})
    return items


# A URI without an issuer takes the item's name ("Personal") as its issuer.
BITWARDEN_VECTORS = [v if v.issuer else Vector("Personal", v.name, v.secret) for v in TOTP_ONLY] + [
    Vector("Steam", "gabe", "JRZCL47CMXVOQMNPZR2F7J4RGI", algorithm="STEAM"),
    Vector("Forge", "ana", "JBSWY3DPEHPK3PXPJBSWY3DP"),
]
BITWARDEN_TOTP = [v for v in VECTORS if v.kind == "totp"]


def test_bitwarden_json_with_uris_steam_and_bare_secrets(tmp_path):
    doc = {"encrypted": False, "folders": [], "items": bitwarden_items(BITWARDEN_TOTP)}
    got = read(write(tmp_path, "bitwarden_export.json", json.dumps(doc)))
    check_accounts(got.items, BITWARDEN_VECTORS)


def test_bitwarden_csv(tmp_path):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "folder",
            "favorite",
            "type",
            "name",
            "notes",
            "fields",
            "reprompt",
            "login_uri",
            "login_username",
            "login_password",
            "login_totp",
        ]
    )
    for item in bitwarden_items(BITWARDEN_TOTP):
        login = item.get("login") or {}
        w.writerow(
            [
                "",
                "",
                "login",
                item["name"],
                "",
                "",
                "0",
                "",
                login.get("username") or "",
                "",
                login.get("totp") or "",
            ]
        )
    got = read(write(tmp_path, "bitwarden_export.csv", buf.getvalue()))
    check_accounts(got.items, BITWARDEN_VECTORS)


def _bw_seal(plain, enc_key, mac_key):
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ct = enc.update(data) + enc.finalize()
    mac = hmac.new(mac_key, iv + ct, hashlib.sha256).digest()
    return "2." + "|".join(base64.b64encode(x).decode() for x in (iv, ct, mac))


@pytest.mark.parametrize("kdf", [0, 1])
def test_bitwarden_password_protected_json(tmp_path, kdf):
    salt = base64.b64encode(os.urandom(16)).decode()
    doc = {"encrypted": True, "passwordProtected": True, "salt": salt, "kdfType": kdf}
    if kdf == 0:
        doc["kdfIterations"] = 5000
        key = pbkdf2(PASSWORD, salt.encode(), 5000)
    else:
        doc.update(kdfIterations=2, kdfMemory=16, kdfParallelism=2)
        key = Argon2id(
            salt=hashlib.sha256(salt.encode()).digest(),
            length=32,
            iterations=2,
            lanes=2,
            memory_cost=16 * 1024,
        ).derive(PASSWORD.encode())
    enc_key = HKDFExpand(hashes.SHA256(), 32, b"enc").derive(key)
    mac_key = HKDFExpand(hashes.SHA256(), 32, b"mac").derive(key)
    doc["encKeyValidation_DO_NOT_EDIT"] = _bw_seal(b"a check value", enc_key, mac_key)
    inner = {"encrypted": False, "items": bitwarden_items(BITWARDEN_TOTP)}
    doc["data"] = _bw_seal(json.dumps(inner).encode(), enc_key, mac_key)
    path = write(tmp_path, "bitwarden_encrypted_export.json", json.dumps(doc))
    check_accounts(read(path, PASSWORD).items, BITWARDEN_VECTORS)
    with pytest.raises(WrongPassword):
        read(path, "guess")


def test_bitwarden_account_restricted_export_says_what_to_export(tmp_path):
    doc = {"encrypted": True, "encKeyValidation_DO_NOT_EDIT": "2.a|b|c", "data": "2.a|b|c"}
    with pytest.raises(ImportFileError, match="Password protected"):
        read(write(tmp_path, "bw.json", json.dumps(doc)))


# --- 1Password, Proton, Authenticator Pro, LastPass, Ente, Steam ------------------------------


def test_1password_1pux(tmp_path):
    items = []
    for v in BITWARDEN_TOTP:
        totp = "steam://" + v.secret if v.algorithm == "STEAM" else v.uri()
        items.append(
            {
                "uuid": v.name,
                "state": "active",
                "categoryUuid": "001",
                "overview": {"title": v.issuer or "Personal", "url": ""},
                "details": {
                    "loginFields": [{"designation": "username", "value": v.name}],
                    "sections": [
                        {
                            "title": "",
                            "fields": [
                                {
                                    "title": "one-time password",
                                    "id": "TOTP_1",
                                    "value": {"totp": totp},
                                }
                            ],
                        }
                    ],
                },
            }
        )
    items.append(
        {
            "uuid": "bare",
            "state": "active",
            "overview": {"title": "Forge"},
            "details": {
                "loginFields": [{"designation": "username", "value": "ana"}],
                "sections": [
                    {
                        "fields": [
                            {"value": {"totp": "JBSWY3DPEHPK3PXPJBSWY3DP"}},
                            {"value": {"string": "x"}},
                        ]
                    }
                ],
            },
        }
    )
    data = {
        "accounts": [
            {"attrs": {"name": "me"}, "vaults": [{"attrs": {"name": "Private"}, "items": items}]}
        ]
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("export.attributes", json.dumps({"version": 3}))
        z.writestr("export.data", json.dumps(data))
        z.writestr("files/", "")
    got = read(write(tmp_path, "1PasswordExport.1pux", buf.getvalue()))
    check_accounts(got.items, BITWARDEN_VECTORS)


def test_proton_authenticator(tmp_path):
    entries = []
    for v in BITWARDEN_TOTP:
        uri = "steam://" + v.secret if v.algorithm == "STEAM" else v.uri()
        entries.append(
            {
                "id": v.name,
                "content": {
                    "uri": uri,
                    "entry_type": "Steam" if v.algorithm == "STEAM" else "Totp",
                    "name": v.name,
                },
                "note": None,
            }
        )
    got = read(write(tmp_path, "proton.json", json.dumps({"version": 1, "entries": entries})))
    check_accounts(got.items, BITWARDEN_TOTP)


def authpro_doc(vectors):
    algos = {"SHA1": 0, "SHA256": 1, "SHA512": 2, "STEAM": 0}
    auths = [
        {
            "Type": 4 if v.algorithm == "STEAM" else (1 if v.kind == "hotp" else 2),
            "Icon": None,
            "Issuer": v.issuer or v.name,
            "Username": v.name if v.issuer else None,
            "Secret": v.secret,
            "Pin": None,
            "Algorithm": algos[v.algorithm],
            "Digits": v.digits,
            "Period": v.period,
            "Counter": v.counter,
            "Ranking": 0,
        }
        for v in vectors
    ]
    auths.append(
        {
            "Type": 5,
            "Issuer": "Yandex",
            "Username": "ivan",
            "Secret": "JBSWY3DP",
            "Algorithm": 1,
            "Digits": 8,
            "Period": 30,
            "Counter": 0,
        }
    )
    return {
        "Authenticators": auths,
        "Categories": [],
        "AuthenticatorCategories": [],
        "CustomIcons": [],
    }


def test_authenticator_pro_plain_and_encrypted(tmp_path):
    doc = authpro_doc(VECTORS)
    got = read(write(tmp_path, "backup.json", json.dumps(doc)))
    check_accounts(got.items, VECTORS)
    assert [s.label for s in got.skipped] == ["Yandex:ivan"]
    salt = os.urandom(16)
    key = Argon2id(salt=salt, length=32, iterations=3, lanes=4, memory_cost=64 * 1024).derive(
        PASSWORD.encode()
    )
    nonce, sealed = gcm(key, json.dumps(doc).encode())
    path = write(tmp_path, "backup.authpro", b"AUTHENTICATORPRO" + salt + nonce + sealed)
    check_accounts(read(path, PASSWORD).items, VECTORS)
    with pytest.raises(WrongPassword):
        read(path, "no")


def test_lastpass_authenticator(tmp_path):
    accounts = [
        {
            "accountID": str(n),
            "issuerName": v.issuer,
            "originalIssuerName": v.issuer,
            "userName": v.name,
            "originalUserName": v.name,
            "pushNotification": False,
            "secret": v.secret,
            "timeStep": v.period,
            "digits": v.digits,
            "creationTimestamp": 1,
            "isFavorite": False,
            "algorithm": v.algorithm,
            "folderData": {"folderId": 0, "position": n},
        }
        for n, v in enumerate(TOTP_ONLY)
    ]
    doc = {
        "deviceId": "",
        "deviceSecret": "",
        "localDeviceId": "",
        "deviceName": "",
        "version": 3,
        "accounts": accounts,
        "folders": [{"id": 0, "name": "Favorites"}],
    }
    check_accounts(read(write(tmp_path, "lastpass.json", json.dumps(doc))).items, TOTP_ONLY)


def test_ente_auth_plain_text_and_encrypted_export(tmp_path):
    display = "&codeDisplay=%7B%22pinned%22%3Afalse%2C%22tags%22%3A%5B%5D%7D"
    lines = [v.uri() + display for v in VECTORS]
    check_accounts(read(write(tmp_path, "ente-auth-codes.txt", "\n".join(lines))).items, VECTORS)
    enc = {
        "version": 1,
        "kdfParams": {"memLimit": 1, "opsLimit": 1, "salt": "x"},
        "encryptedData": "x",
        "encryptionNonce": "y",
    }
    with pytest.raises(ImportFileError, match="Export codes > Plain text"):
        read(write(tmp_path, "ente-encrypted.txt", json.dumps(enc)))


def test_steam_desktop_authenticator_mafile(tmp_path):
    v = Vector("Steam", "gabe", "JRZCL47CMXVOQMNPZR2F7J4RGI", algorithm="STEAM")
    doc = {
        "shared_secret": base64.b64encode(v.key).decode(),
        "serial_number": "1",
        "revocation_code": "R1234",
        "uri": "otpauth://totp/Steam:gabe?secret=%s&issuer=Steam" % v.secret,
        "server_time": 0,
        "account_name": "gabe",
        "token_gid": "1",
        "identity_secret": "c2VjcmV0",
        "secret_1": "c2VjcmV0",
        "status": 1,
        "device_id": "android:1",
        "fully_enrolled": True,
        "Session": None,
    }
    check_accounts(read(write(tmp_path, "76561198000000000.maFile", json.dumps(doc))).items, [v])
    with pytest.raises(ImportFileError, match="manifest.json"):
        read(
            write(tmp_path, "manifest.json", json.dumps({"encrypted": True, "entries": []})),
            fmt="steam",
        )


def test_steam_issuer_uri_without_encoder_is_steam_unless_as_totp(tmp_path):
    v = Vector("Steam", "gabe", "JRZCL47CMXVOQMNPZR2F7J4RGI", algorithm="STEAM")
    path = write(
        tmp_path, "sda.txt", "otpauth://totp/Steam:gabe?secret=%s&issuer=Steam\n" % v.secret
    )
    got = read(path)
    check_accounts(got.items, [v])
    assert "--as-totp" in got.items[0][0].warnings[0]
    plain = collect([("file", str(path))], Passwords(), None, as_totp=True)
    check_accounts(plain.items, [Vector("Steam", "gabe", v.secret)])


# --- KeePass, PSKC, Entra CSV --------------------------------------------------------------


def test_keepass_database_otp_attributes(tmp_path):
    pykeepass = pytest.importorskip("pykeepass")
    path = tmp_path / "vault.kdbx"
    db = pykeepass.create_database(str(path), password=PASSWORD)
    deno, spdx, big = TOTP_ONLY[0], TOTP_ONLY[1], TOTP_ONLY[2]
    e = db.add_entry(db.root_group, "Deno", "Mason", "pw")
    e.otp = deno.uri()  # KeePassXC
    e = db.add_entry(db.root_group, spdx.issuer, spdx.name, "pw")
    e.set_custom_property("TimeOtp-Secret-Base32", spdx.secret)  # KeePass 2.47+
    e.set_custom_property("TimeOtp-Length", str(spdx.digits))
    e.set_custom_property("TimeOtp-Period", str(spdx.period))
    e.set_custom_property("TimeOtp-Algorithm", "HMAC-SHA-256")
    e = db.add_entry(db.root_group, big.issuer, big.name, "pw")
    e.set_custom_property("TimeOtp-Secret-Hex", big.key.hex())
    e.set_custom_property("TimeOtp-Length", "8")
    e.set_custom_property("TimeOtp-Period", "60")
    e.set_custom_property("TimeOtp-Algorithm", "HMAC-SHA-512")
    hotp = VECTORS[3]
    e = db.add_entry(db.root_group, hotp.issuer, hotp.name, "pw")
    e.set_custom_property("HmacOtp-Secret-Base64", base64.b64encode(hotp.key).decode())
    e.set_custom_property("HmacOtp-Counter", str(hotp.counter))
    steam = VECTORS[5]
    e = db.add_entry(db.root_group, "Steam", "gabe", "pw")  # older KeePassXC
    e.set_custom_property("TOTP Seed", steam.secret)
    e.set_custom_property("TOTP Settings", "30;S")
    db.add_entry(db.root_group, "No OTP", "someone", "pw")
    db.save()
    check_accounts(read(path, PASSWORD).items, [deno, spdx, big, hotp, steam])
    with pytest.raises(WrongPassword):
        read(path, "wrong")


def test_keepass_without_the_extra_names_it(tmp_path, monkeypatch):
    import sys

    from otpfob.importers import MissingExtra
    from otpfob.importers.keepass import MAGIC

    monkeypatch.setitem(sys.modules, "pykeepass", None)
    with pytest.raises(MissingExtra, match=r"otpfob\[keepass\]"):
        read(write(tmp_path, "x.kdbx", MAGIC + b"\x00" * 64), "pw")


RFC6030_FIGURE_2 = """<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" Id="exampleID1" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo>
      <Manufacturer>Manufacturer</Manufacturer>
      <SerialNo>987654321</SerialNo>
      <UserId>DC=example-bank,DC=net</UserId>
    </DeviceInfo>
    <CryptoModuleInfo><Id>CM_ID_001</Id></CryptoModuleInfo>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <Issuer>Issuer</Issuer>
      <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/>
      </AlgorithmParameters>
      <Data>
        <Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
      <UserId>UID=jsmith,DC=example-bank,DC=net</UserId>
    </Key>
  </KeyPackage>
</KeyContainer>
"""


def test_pskc_rfc6030_example_hotp(tmp_path):
    # RFC 6030 figure 2: the RFC 4226 test key as an 8-digit HOTP token.
    got = read(write(tmp_path, "tokens.pskc", RFC6030_FIGURE_2))
    v = Vector(
        "Issuer",
        "UID=jsmith,DC=example-bank,DC=net",
        base64.b32encode(b"12345678901234567890").decode().rstrip("="),
        kind="hotp",
        digits=8,
        counter=0,
    )
    check_accounts(got.items, [v])
    # RFC 4226 appendix D gives 755224 for counter 0 (6 digits): the 8-digit code ends so.
    from export_samples import fob_code

    assert fob_code(got.items[0][0]).endswith("755224")


def _pskc_tokens(vectors):
    return [
        {
            "upn": v.name,
            "serial": "S%d" % n,
            "secret": v.key,
            "period": v.period,
            "digits": v.digits,
            "algorithm": v.algorithm,
            "issuer": v.issuer,
            "manufacturer": "otpfob",
            "model": "pico",
        }
        for n, v in enumerate(vectors)
    ]


def test_pskc_with_a_password_and_with_a_preshared_key(tmp_path):
    from otpfob.importers import pskc

    vectors = [v for v in TOTP_ONLY if v.issuer]
    path = write(tmp_path, "fleet.pskc", pskc.write(_pskc_tokens(vectors), password=PASSWORD))
    check_accounts(read(path, PASSWORD).items, vectors)
    with pytest.raises(WrongPassword):
        read(path, "wrong")
    key = os.urandom(16)
    path = write(tmp_path, "psk.pskc", pskc.write(_pskc_tokens(vectors), key=key))
    check_accounts(read(path, key=key).items, vectors)
    with pytest.raises(ImportFileError, match="--pskc-key-file"):
        read(path)
    with pytest.raises(WrongPassword):
        read(path, key=os.urandom(16))


def test_entra_csv(tmp_path):
    vectors = [
        Vector("otpfob", "alice@contoso.example", TOTP_ONLY[0].secret),
        Vector("otpfob", "bob@contoso.example", TOTP_ONLY[1].secret, period=60),
    ]
    text = "upn,serial number,secret key,time interval,manufacturer,model\r\n" + "".join(
        "%s,%d,%s,%d,otpfob,pico\r\n" % (v.name, n, v.secret, v.period)
        for n, v in enumerate(vectors)
    )
    check_accounts(read(write(tmp_path, "entra.csv", text)).items, vectors)


# --- Google exports, lists, the rules ------------------------------------------------------


def test_five_identical_google_exports_count_once_and_clashes_are_named(tmp_path):
    from otpfob.otpauth import Account

    accounts = [
        Account(
            v.name,
            v.key,
            issuer=v.issuer,
            algorithm=v.algorithm,
            digits=v.digits,
            kind=v.kind,
            counter=v.counter,
        )
        for v in VECTORS
        if v.algorithm == "SHA1" and v.digits == 6
    ]
    # The same export five times (its QR codes scanned again), and five exports.
    uri = migration.export_uris(accounts)[0]
    got = read(write(tmp_path, "same.txt", "\n".join([uri] * 5)))
    check_accounts(got.items, [v for v in VECTORS if v.algorithm == "SHA1" and v.digits == 6])
    uris = [migration.export_uris(accounts, batch_id=n)[0] for n in range(5)]
    path = write(tmp_path, "google.txt", "\n".join(uris))
    got = read(path)
    check_accounts(got.items, [v for v in VECTORS if v.algorithm == "SHA1" and v.digits == 6])
    assert any("Deno:Mason appears 5 times with the same secret" in n for n in got.notices)
    other = write(tmp_path, "other.txt", "otpauth://totp/Deno:Mason?secret=JBSWY3DPEHPK3PXP\n")
    both = collect([("file", str(path)), ("file", str(other))])
    assert [(label, len(wheres)) for label, wheres in both.conflicts] == [("Deno:Mason", 2)]
    assert "other.txt line 1" in both.conflicts[0][1][1]
    assert "Deno:Mason" not in [a.label for a, _ in both.items]


def test_a_uri_list_with_bad_lines_keeps_the_rest(tmp_path):
    text = "\n".join(
        [
            VECTORS[0].uri(),
            "otpauth://totp/Old:md5?secret=JBSWY3DP&algorithm=MD5",
            VECTORS[3].uri(),
            "otpauth://totp/Short:d?secret=JBSWY3DP&digits=5",
        ]
    )
    got = read(write(tmp_path, "list.txt", text))
    check_accounts(got.items, [VECTORS[0], VECTORS[3]])
    assert [(s.label, s.where.rsplit(" ", 1)[-1]) for s in got.skipped] == [
        ("Old:md5", "2"),
        ("Short:d", "4"),
    ]


@pytest.mark.parametrize(
    "data, words",
    [
        (b"SQLite format 3\x00" + b"\x00" * 100, "a SQLite database"),
        (None, "a zip without export.data (it holds notes.txt)"),
        (b'{"hello": 1}', "JSON that matches no supported export (its keys: hello)"),
        (b"<html><body>codes</body></html>", "an HTML page"),
        (b"name,password\nx,y\n", "a CSV file whose columns"),
        (b"", "an empty file"),
    ],
)
def test_an_unknown_file_says_what_it_looks_like_and_lists_the_formats(tmp_path, data, words):
    if data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("notes.txt", "x")
        data = buf.getvalue()
    with pytest.raises(ImportFileError) as e:
        read(write(tmp_path, "mystery.bin", data))
    message = str(e.value)
    assert words in message
    assert "Aegis vault export" in message and "2FAS backup" in message
    assert "--format NAME" in message


def test_format_forces_one_and_unknown_names_are_listed(tmp_path):
    path = write(tmp_path, "x.txt", VECTORS[0].uri())
    with pytest.raises(ImportFileError, match="not a 1PUX export"):
        read(path, fmt="1password")
    with pytest.raises(ImportFileError, match="unknown format 'nope'.*aegis"):
        read(path, fmt="nope")
    assert {
        "aegis",
        "2fas",
        "andotp",
        "freeotp",
        "freeotp-plus",
        "bitwarden",
        "1password",
        "proton",
        "authpro",
        "ente",
        "lastpass",
        "steam",
        "keepass",
        "pskc",
        "entra-csv",
        "otpauth",
        "google",
        "image",
    } <= set(format_names())


def test_errors_never_carry_a_secret(tmp_path):
    secret = "MZXW6YTBOI8QMZXW6YTBOI"
    got = read(write(tmp_path, "l.txt", "otpauth://totp/A:b?secret=%s\n" % secret))
    assert got.skipped and all(secret not in s.line() for s in got.skipped)
