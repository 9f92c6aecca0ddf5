# The login (mutual HMAC-SHA256 challenge-response), the session that follows it, and the
# password commands. Loaded at the first login; the record itself is fob/guard.py's, who
# may ask what is fob/policy.py's.
#
# Wrong passwords never erase anything (fob/guard.py): they stop the logins until the
# holder allows more tries with a press, a bounded number of times.
from fob.guard import (ITERATIONS_MAX, ITERATIONS_MIN, KEY_SIZE, NONCE_SIZE, SALT_SIZE, TRIES,
                       UNLOCKS)
from fob.vault import VaultError as _error
from fob.wire import ACT, NEED_PRESS, port_linked
from fob.wire import monotonic as _clock

from micropython import const

# Labels that keep the uses of the key apart (host proof, fob proof, key wrap, session).
HOST_LABEL = b"otpfob host"
FOB_LABEL = b"otpfob fob"
WRAP_LABEL = b"otpfob wrap"
SESSION_LABEL = b"otpfob session"
# The session (Protocol.session), a list made by session(): its slots, by these names
# wherever it is read.
SE_AT = const(0)        # monotonic() of the last authenticated request
SE_LINKED = const(1)    # the port's link state at the login
SE_FOB = const(2)       # the two nonces of the login
SE_HOST = const(3)
SE_MAC = const(4)       # HMAC under the session key
SE_COUNT = const(5)     # the counter the next request's MAC must cover
# A login ends after this long without an authenticated request (seconds), or when the
# port's link state changes.
_SESSION_IDLE = const(300)


def random_bytes(n):
    try:
        import os

        return os.urandom(n)
    except (ImportError, AttributeError, NotImplementedError):
        # A port without a hardware source: the random module's generator is seeded from
        # the hardware where the port has one, and is the best left.
        import random

        return bytes(random.getrandbits(8) for _ in range(n))


def mac(key, label, a, b):
    """HMAC-SHA256(key, label + a + b): the proofs and the key wrap."""
    from fob.hmac import HMAC

    return HMAC(key, "sha256").digest(label + a + b)


def same(a, b):
    """Compares without stopping at the first difference, so timing says nothing."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def _hex(data):
    from binascii import hexlify

    return str(hexlify(data), "ascii")


def _unhex(req, key, size):
    from fob.args import bad, get_str

    text = get_str(req, key)
    if len(text) != 2 * size:
        raise bad("%s must be %d hex digits" % (key, 2 * size))
    try:
        from binascii import unhexlify

        return unhexlify(text)
    except Exception:
        raise bad(key + " must be hex digits") from None


# -- the login ------------------------------------------------------------------------

def auth_begin(p, req):
    g = p.guard
    if not g.has_password:
        raise _error("no_password", "this fob has no password to log in with")
    if g.status == "damaged":
        raise _error("damaged", "the fob's password record is damaged; only a reset "
                     "(which erases the accounts) recovers it")
    if g.locked:
        if not g.unlocks:
            raise _locked(g)
        # Only the holder lets a host try again, with a press.
        return ACT, g.failed, _unlock(p), NEED_PRESS
    return _challenge(p)


def _challenge(p):
    g = p.guard
    # A live session goes on until this login succeeds: a program that merely asks for a
    # challenge does not end another's session.
    p.challenge = random_bytes(NONCE_SIZE)
    return {"salt": _hex(g.salt), "iterations": g.iterations,
            "challenge": _hex(p.challenge), "tries_left": g.tries, "failed": g.failed}


def _unlock(p):
    def done(pressed):
        g = p.guard
        g.unlocks -= 1
        g.tries = TRIES
        try:
            g.save()
        except OSError:
            raise _error("io", "cannot record the new tries on flash; try again") from None
        return _challenge(p)

    return done


def unlock_prompt(p, failed):
    return "Allow %d more password tries?\n%d wrong so far" % (TRIES, failed)


def _locked(g):
    if g.unlocks:
        return _error("locked", "%d wrong passwords: logins are stopped until the holder "
                      "allows more tries with a press on the fob (a login asks it)"
                      % g.failed)
    return _error("locked", "%d wrong passwords: logins are stopped for good; only a reset "
                  "(which erases the accounts, with a press on the fob) recovers it"
                  % g.failed)


def auth(p, req):
    g = p.guard
    fob_nonce = p.challenge
    host_nonce = _unhex(req, "challenge", NONCE_SIZE)
    response = _unhex(req, "response", KEY_SIZE)
    # The answer names the challenge it answers: one asked for by another program since
    # (the fob hands out one at a time) is not this one, and nothing is counted.
    answers = _unhex(req, "fob_challenge", NONCE_SIZE)
    if fob_nonce is None or not g.has_password or g.status == "damaged":
        raise _error("no_challenge", "ask for a challenge first (auth_begin)")
    if not same(answers, fob_nonce):
        raise _error("no_challenge", "that challenge was replaced by a newer one (another "
                     "login began); ask for a new one; nothing was counted")
    # One answer per challenge, right or wrong.
    p.challenge = None
    if g.locked:
        raise _locked(g)
    # The try is counted on flash before the answer is checked, so cutting the power
    # during a check cannot buy an uncounted guess.
    failed = g.failed
    g.tries -= 1
    try:
        g.save()
    except OSError:
        g.tries += 1
        raise _error("io", "cannot record the try on flash; nothing was checked") from None
    if not same(response, mac(g.key, HOST_LABEL, fob_nonce, host_nonce)):
        if g.locked:
            raise _locked(g)
        raise _error("bad_password", "wrong password (%d tries left before logins stop "
                     "until the holder allows more on the fob)" % g.tries)
    g.tries = TRIES
    g.unlocks = UNLOCKS
    try:
        g.save()
    except OSError:
        raise _error("io", "the password is right, but the fob cannot record that on "
                     "flash; log in again") from None
    from fob.hmac import HMAC

    p.session = session(port_linked(p.port), fob_nonce, host_nonce,
                        HMAC(mac(g.key, SESSION_LABEL, fob_nonce, host_nonce), "sha256"))
    # `failed`: the wrong answers since the last right one, before this one; the host
    # tells its user, so someone else's guesses do not go unnoticed.
    return {"response": _hex(mac(g.key, FOB_LABEL, host_nonce, fob_nonce)),
            "tries_left": g.tries, "failed": failed}


# -- the session ----------------------------------------------------------------------

def session(linked, fob_nonce, host_nonce, state):
    """A new session record: `state` the HMAC of the session key, counter 0."""
    return [_clock(), linked, fob_nonce, host_nonce, state, 0]


def check_mac(p, body, tag):
    """True when tag (64 hex digits) is the session's MAC of its counter and body; the
    counter and the idle time then move on. Anything else changes nothing."""
    se = p.session
    if se is None:
        return False
    try:
        from binascii import unhexlify

        tag = unhexlify(tag)
    except Exception:
        return False
    import struct

    n = se[SE_COUNT]
    if not same(se[SE_MAC].digest(struct.pack(">Q", n) + body), tag):
        return False
    se[SE_COUNT] = n + 1
    se[SE_AT] = _clock()
    return True


def expire(p, linked):
    """Ends the session after _SESSION_IDLE s without an authenticated request, or once
    the port's link state is not what it was at the login."""
    se = p.session
    if _clock() - se[SE_AT] > _SESSION_IDLE or se[SE_LINKED] != bool(linked):
        p.logout()


def logout(p, req):
    # Only the program that logged in can end its session (a request with its MAC); any
    # other logout just drops a challenge it may have asked for.
    was = p.session is not None and p.authed
    if was:
        p.logout()
    else:
        p.challenge = None
    return {"logged_out": was}


# -- the password ---------------------------------------------------------------------

def password_set(p, req):
    from fob.args import get_int

    g = p.guard
    salt = _unhex(req, "salt", SALT_SIZE)
    iterations = get_int(req, "iterations", None, ITERATIONS_MIN, ITERATIONS_MAX)
    if g.has_password:
        # Only the logged-in host gets here (the table's LOGIN), and the new key travels
        # masked with the current one and this login's two nonces, so the wire never
        # shows it.
        se = p.session
        mask = mac(g.key, WRAP_LABEL, se[SE_FOB], se[SE_HOST])
        wrapped = _unhex(req, "wrapped", KEY_SIZE)
        key = bytes(wrapped[i] ^ mask[i] for i in range(KEY_SIZE))
    else:
        key = _unhex(req, "key", KEY_SIZE)

    def done(pressed):
        g.set_password(salt, iterations, key)
        # A login in progress goes on (under the new key from now on); a host that set the
        # first password logs in like any other.
        return {"password": True, "tries_left": g.tries}

    return ACT, key, done, NEED_PRESS


def password_prompt(p, key):
    from fob import check

    return ("Change password?" if p.guard.has_password else "Set password?") + \
        "\nCheck: " + check.text(check.password(key))


def password_clear(p, req):
    g = p.guard
    if not g.has_password:
        raise _error("no_password", "this fob has no password")

    def done(pressed):
        g.clear_password()
        return {"password": False}

    return ACT, None, done, NEED_PRESS
