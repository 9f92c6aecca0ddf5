"""1Password 1PUX exports (File > Export > All Items..., "1PUX"): a zip whose
export.data is JSON: accounts > vaults > items; an item's one-time password is a field
whose value is {"totp": "otpauth://..." or a bare secret} in details.sections[].fields[].
A bare secret is labelled with the item's title (issuer) and username (name)."""

import json

from .base import ImportFileError, object_of, text_of
from .bitwarden import entry

NAME = "1password"
TITLE = "1Password export (.1pux)"

DATA = "export.data"


def detect(source):
    z = source.zip
    return z is not None and DATA in z.namelist()


def _username(details):
    for field in details.get("loginFields") or ():
        if isinstance(field, dict) and field.get("designation") == "username":
            return text_of(field.get("value"))
    return ""


def read(source, found):
    z = source.zip
    if z is None or DATA not in z.namelist():
        raise ImportFileError("%s: not a 1PUX export (a zip with export.data)" % source.where)
    try:
        doc = json.loads(z.read(DATA).decode("utf-8"))
    except (ValueError, OSError, KeyError):
        raise ImportFileError("%s: export.data is not JSON" % source.where) from None
    for account in doc.get("accounts") or ():
        for vault in account.get("vaults") or ():
            for item in vault.get("items") or ():
                _item(item, source.where, found)


def _item(item, where, found):
    if not isinstance(item, dict) or item.get("state") == "archived":
        return
    details = object_of(item, "details")
    title = text_of((item.get("overview") or {}).get("title"))
    user = _username(details)
    for section in details.get("sections") or ():
        for field in (section or {}).get("fields") or ():
            value = (field or {}).get("value")
            if isinstance(value, dict) and text_of(value.get("totp")):
                entry(
                    found,
                    text_of(value["totp"]),
                    title,
                    user,
                    "%s item %r" % (where, title or item.get("uuid")),
                )
