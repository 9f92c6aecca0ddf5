"""2FAS Authenticator backups (.2fas; Settings > 2FAS Backup > Export to file), every
schema version (1 to 4), plain or with a password. With a password, "servicesEncrypted"
is "data:salt:iv" in base64: AES-256-GCM (tag at the end of data) under
PBKDF2-HMAC-SHA256(password, salt, 10000 rounds). The service's "name" is the issuer; the
otp's "tokenType" (TOTP, HOTP or STEAM) is missing before schema 3, meaning TOTP."""

import json

from .base import ImportFileError, add_typed, aes_gcm_open, b64, object_of, pbkdf2, text_of

NAME = "2fas"
TITLE = "2FAS backup (.2fas, any schema version, plain or with a password)"

ROUNDS = 10000


def detect(source):
    doc = source.json
    return (
        isinstance(doc, dict)
        and "schemaVersion" in doc
        and ("services" in doc or "servicesEncrypted" in doc)
    )


def read(source, found):
    doc = source.json
    services = doc.get("services")
    if doc.get("servicesEncrypted"):
        services = _decrypt(doc["servicesEncrypted"], source, found)
    if not isinstance(services, list):
        raise ImportFileError("%s: the 2FAS backup has no services list" % source.where)
    for n, service in enumerate(services, 1):
        _service(service, "%s service %d" % (source.where, n), found)


def _service(service, where, found):
    if not isinstance(service, dict):
        found.skip(None, where, "not a service entry")
        return
    otp = object_of(service, "otp")
    issuer = text_of(service.get("name")) or text_of(otp.get("issuer"))
    name = text_of(otp.get("account"))
    if not name:
        # Schema 1 and 2 keep "Issuer:account" in the label.
        label = text_of(otp.get("label"))
        name = label.split(":", 1)[1].strip() if ":" in label else label
    name = name or issuer
    kind = text_of(otp.get("tokenType")) or "TOTP"
    add_typed(found, where, issuer, name, text_of(service.get("secret")), kind, otp)


def _decrypt(blob, source, found):
    parts = str(blob).split(":")
    if len(parts) < 3:
        raise ImportFileError(
            "%s: the 2FAS backup's encrypted services are damaged "
            "(expected data:salt:iv)" % source.where
        )
    data, salt, iv = (b64(p, "encrypted services") for p in parts[:3])
    key = pbkdf2(found.passwords.get(source.where), salt, ROUNDS, 32, "sha256")
    plain = aes_gcm_open(key, iv, data, what=source.where)
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise ImportFileError(
            "%s: the decrypted 2FAS services are not JSON" % source.where
        ) from None
