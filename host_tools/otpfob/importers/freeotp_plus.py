"""FreeOTP+ exports (Settings > Export > Export JSON format): {"tokenOrder": [...],
"tokens": [...]} with FreeOTP's token objects (secret as a Java byte array; an HOTP
token's counter is its last used one, as in FreeOTP 1.x)."""

from .base import items_of, list_in
from .freeotp import token_entry

NAME = "freeotp-plus"
TITLE = "FreeOTP+ JSON export"


def detect(source):
    return list_in(
        source.json,
        "tokens",
        lambda t: isinstance(t, dict) and isinstance(t.get("secret"), list),
        every=True,
    )


def read(source, found):
    tokens = items_of(source, source.json, "tokens", "a FreeOTP+ export (no tokens list)")
    for n, token in enumerate(tokens, 1):
        token_entry(token, "%s token %d" % (source.where, n), found, next_counter=1)
