# Checks of a request's arguments, shared by the command handlers. A leaf: it imports
# nothing of the fob but the error class, so any handler can use it without pulling in
# another handler.
from fob.vault import VaultError


def bad(message):
    # Argument errors reuse the vault's (code, message) exception: one class fewer in RAM.
    # The vault's own "bad_account" reaches the host as "bad_argument" too.
    return VaultError("bad_argument", message)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def get_int(req, key, default=None, lo=None, hi=None):
    v = req.get(key, default)
    if v is None:
        raise bad(key + " is required")
    if not is_int(v):
        raise bad(key + " must be an integer")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise bad("%s must be %d to %d" % (key, lo, hi))
    return v


def get_str(req, key, default=None):
    v = req.get(key, default)
    if v is None:
        raise bad(key + " is required")
    if not isinstance(v, str):
        raise bad(key + " must be a string")
    return v


def get_bool(req, key):
    v = req.get(key, False)
    if not isinstance(v, bool):
        raise bad(key + " must be true or false")
    return v
