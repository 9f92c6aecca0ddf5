"""Steam Desktop Authenticator's .maFile (one per account, in its maFiles folder): JSON
with "shared_secret" (base64, the Steam Guard key), "account_name" and more. An encrypted
maFile (SDA's passkey) is base64 text, not JSON: decrypt it in SDA first (Manage
encryption > Remove encryption)."""

from .base import ImportFileError, b64, text_of

NAME = "steam"
TITLE = "Steam Desktop Authenticator .maFile"


def detect(source):
    doc = source.json
    if isinstance(doc, dict) and "shared_secret" in doc:
        return True
    # Aegis reads Steam's own app data too: {"accounts": {id: {...maFile fields...}}}.
    accounts = doc.get("accounts") if isinstance(doc, dict) else None
    return isinstance(accounts, dict) and any(
        isinstance(a, dict) and "shared_secret" in a for a in accounts.values()
    )


def read(source, found):
    doc = source.json
    if isinstance(doc, dict) and isinstance(doc.get("entries"), list) and "encrypted" in doc:
        raise ImportFileError(
            "%s is Steam Desktop Authenticator's manifest.json; import the "
            ".maFile files next to it" % source.where
        )
    if not isinstance(doc, dict):
        raise ImportFileError(
            "%s: not a Steam Desktop Authenticator .maFile (an encrypted "
            "one must be decrypted in SDA first: Manage encryption > Remove "
            "encryption)" % source.where
        )
    accounts = [doc] if "shared_secret" in doc else list((doc.get("accounts") or {}).values())
    for n, item in enumerate(accounts, 1):
        where = source.where if len(accounts) == 1 else "%s account %d" % (source.where, n)
        name = text_of(item.get("account_name")) or "Steam Guard"
        try:
            secret = b64(text_of(item.get("shared_secret")), "shared_secret")
        except ImportFileError as exc:
            found.skip("Steam:%s" % name, where, str(exc))
            continue
        found.add(where, name, secret, issuer="Steam", algorithm="STEAM", digits=5)
