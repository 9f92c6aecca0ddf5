"""FreeOTP+ exports (Settings > Export > Export JSON format): {"tokenOrder": [...],
"tokens": [...]} with FreeOTP's token objects (secret as a Java byte array; an HOTP
token's counter is its last used one, as in FreeOTP 1.x)."""

from .base import ImportFileError
from .freeotp import token_entry

NAME = "freeotp-plus"
TITLE = "FreeOTP+ JSON export"


def detect(source):
    doc = source.json
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("tokens"), list)
        and all(isinstance(t, dict) and isinstance(t.get("secret"), list) for t in doc["tokens"])
    )


def read(source, found):
    doc = source.json
    if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
        raise ImportFileError("%s: not a FreeOTP+ export (no tokens list)" % source.where)
    for n, token in enumerate(doc["tokens"], 1):
        token_entry(token, "%s token %d" % (source.where, n), found, next_counter=1)
