"""LastPass Authenticator exports (Settings > Transfer accounts > Export accounts to file):
{"version": 3, "accounts": [{"issuerName", "userName", "secret" (base32), "timeStep",
"digits", "algorithm", ...}], "folders": [...]}. LastPass Authenticator has TOTP only."""

from .base import int_of, items_of, list_in, text_of

NAME = "lastpass"
TITLE = "LastPass Authenticator export (.json)"


def detect(source):
    return list_in(
        source.json,
        "accounts",
        lambda a: isinstance(a, dict) and "issuerName" in a and "secret" in a,
    )


def read(source, found):
    accounts = items_of(source, source.json, "accounts", "a LastPass Authenticator export")
    for n, item in enumerate(accounts, 1):
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
