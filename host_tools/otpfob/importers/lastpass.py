"""LastPass Authenticator exports (Settings > Transfer accounts > Export accounts to file):
{"version": 3, "accounts": [{"issuerName", "userName", "secret" (base32), "timeStep",
"digits", "algorithm", ...}], "folders": [...]}. LastPass Authenticator has TOTP only."""

from .base import ImportFileError, int_of, text_of

NAME = "lastpass"
TITLE = "LastPass Authenticator export (.json)"


def detect(source):
    doc = source.json
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("accounts"), list)
        and any(
            isinstance(a, dict) and "issuerName" in a and "secret" in a for a in doc["accounts"]
        )
    )


def read(source, found):
    doc = source.json
    if not isinstance(doc, dict) or not isinstance(doc.get("accounts"), list):
        raise ImportFileError("%s: not a LastPass Authenticator export" % source.where)
    for n, item in enumerate(doc["accounts"], 1):
        where = "%s account %d" % (source.where, n)
        if not isinstance(item, dict):
            found.skip(None, where, "not an account")
            continue
        issuer = text_of(item.get("issuerName")) or text_of(item.get("originalIssuerName"))
        name = text_of(item.get("userName")) or text_of(item.get("originalUserName"))
        try:
            found.add(
                where,
                name or issuer,
                text_of(item.get("secret")),
                issuer=issuer if name else "",
                algorithm=text_of(item.get("algorithm")) or "SHA1",
                digits=int_of(item.get("digits"), 6),
                period=int_of(item.get("timeStep"), 30),
            )
        except ValueError as exc:
            found.skip("%s:%s" % (issuer, name), where, str(exc))
