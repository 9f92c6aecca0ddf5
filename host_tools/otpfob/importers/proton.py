"""Proton Authenticator exports (Settings > Export): {"version": 1, "entries": [{"content":
{"uri": "otpauth://...", "entry_type": "Totp" or "Steam", "name": ...}, ...}]}. The name
in content is the account name shown in the app."""

from .base import items_of, list_in, text_of

NAME = "proton"
TITLE = "Proton Authenticator export (.json)"


def detect(source):
    return list_in(
        source.json, "entries", lambda e: isinstance(e, dict) and isinstance(e.get("content"), dict)
    )


def read(source, found):
    entries = items_of(source, source.json, "entries", "a Proton Authenticator export")
    for n, item in enumerate(entries, 1):
        where = "%s entry %d" % (source.where, n)
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(content, dict):
            found.skip(None, where, "the entry has no content")
            continue
        name = text_of(content.get("name"))
        kind = text_of(content.get("entry_type")).lower()
        account = found.uri(text_of(content.get("uri")), where, name=name or None)
        if account is None:
            continue
        changes = {}
        if name and name != account.name:
            changes["name"] = name
        if kind == "steam" and account.algorithm != "STEAM":
            changes.update(algorithm="STEAM", digits=5)
        if changes:
            found.items[-1] = (account.replace(**changes), where)
