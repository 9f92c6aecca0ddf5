# The login (mutual HMAC-SHA256 challenge-response), the password commands, and the
# questions a request puts to the person holding the fob. Loaded at the first login or the
# first request that needs a press; the record itself is fob/guard.py's.
from fob.guard import ITERATIONS_MAX, ITERATIONS_MIN, KEY_SIZE, NONCE_SIZE, SALT_SIZE, TRIES
from fob import protocol
from fob.vault import VaultError as _error

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

def _clock():
    # Looked up at each call, so a test's stand-in clock reaches every timer alike.
    return protocol.monotonic()


# Labels that keep the uses of the key apart (host proof, fob proof, key wrap, session).
HOST_LABEL = b"otpfob host"
FOB_LABEL = b"otpfob fob"
WRAP_LABEL = b"otpfob wrap"
SESSION_LABEL = b"otpfob session"
# The session list (Protocol.session): last authenticated request (fob/guard.py's clock),
# the port's link state at login, the two nonces, the session key's HMAC, the counter
# the next request's MAC must cover.
_SE_AT = const(0)
_SE_MAC = const(4)
_SE_COUNT = const(5)


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


# -- protocol commands (fob/protocol.py calls these with itself and the request) ----------

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


def auth_begin(p, req):
    g = p.guard
    if not g.has_password:
        raise _error("no_password", "this fob has no password to log in with")
    if g.status == "damaged":
        raise _error("damaged", "the fob's password record is damaged; only a reset "
                     "(which erases the accounts) recovers it")
    if g.tries <= 0:
        finish_wipe(p)
        raise _wiped()
    # A live session goes on until this login succeeds: a program that merely asks for a
    # challenge does not end another's session.
    p.challenge = random_bytes(NONCE_SIZE)
    return {"salt": _hex(g.salt), "iterations": g.iterations,
            "challenge": _hex(p.challenge), "tries_left": g.tries}


def _wiped():
    return _error("wiped", "wrong password %d times in a row: the fob erased its accounts "
                  "and its password" % TRIES)


def _mark(p, due):
    # The wipe mark beside the vault (fob/protocol.py): one byte while a wipe may be due.
    v = p.vault
    from fob.vault import join

    f = v.fs.open(join(v.root, protocol.WIPE_MARK), "wb")
    try:
        if due:
            f.write(b"1")
    finally:
        f.close()
    v.fs.sync()


def auth(p, req):
    g = p.guard
    fob_nonce = p.challenge
    # One answer per challenge, right or wrong.
    p.challenge = None
    if fob_nonce is None or not g.has_password or g.status == "damaged":
        raise _error("no_challenge", "ask for a challenge first (auth_begin)")
    host_nonce = _unhex(req, "challenge", NONCE_SIZE)
    response = _unhex(req, "response", KEY_SIZE)
    if g.tries <= 0:
        finish_wipe(p)
        raise _wiped()
    # The try is counted on flash before the answer is checked, so cutting the power
    # during a check cannot buy an uncounted guess. Before the last try the wipe is
    # marked as due: a power cut from here on ends in a finished wipe at the next boot.
    last = g.tries == 1
    try:
        if last:
            _mark(p, True)
        g.tries -= 1
        try:
            g.save()
        except OSError:
            g.tries += 1
            raise
    except OSError:
        if last:
            try:
                _mark(p, False)
            except OSError:
                pass
        raise _error("io", "cannot record the try on flash; nothing was checked") from None
    if not same(response, mac(g.key, HOST_LABEL, fob_nonce, host_nonce)):
        if g.tries <= 0:
            finish_wipe(p)
            raise _wiped()
        raise _error("bad_password", "wrong password (%d tries left before the fob erases "
                     "itself)" % g.tries)
    g.tries = TRIES
    try:
        g.save()
        if last:
            _mark(p, False)
    except OSError:
        raise _error("io", "the password is right, but the fob cannot record that on "
                     "flash; log in again") from None
    from fob.hmac import HMAC
    p.session = [_clock(), protocol.port_linked(p.port), fob_nonce, host_nonce,
                 HMAC(mac(g.key, SESSION_LABEL, fob_nonce, host_nonce), "sha256"), 0]
    return {"response": _hex(mac(g.key, FOB_LABEL, host_nonce, fob_nonce)),
            "tries_left": g.tries}


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

    n = se[_SE_COUNT]
    if not same(se[_SE_MAC].digest(struct.pack(">Q", n) + body), tag):
        return False
    se[_SE_COUNT] = n + 1
    se[_SE_AT] = _clock()
    return True


def logout(p, req):
    # Only the program that logged in can end its session (a request with its MAC); any
    # other logout just drops a challenge it may have asked for.
    was = p.session is not None and p.authed
    if was:
        p.logout()
    else:
        p.challenge = None
    return {"logged_out": was}


def finish_wipe(p):
    """The wipe after the 8th wrong password: accounts, then the password, then the
    mark; run again at boot when a power cut stopped it (fob/protocol.py)."""
    _wipe(p, "Wiped: %d wrong passwords" % TRIES)
    _mark(p, False)


def boot_wipe(p):
    """At boot with the wipe mark set. The record still shows tries left when the power
    went before the last try was counted (nothing was checked) or after it was right and
    counted back: the mark is emptied and nothing erased. Otherwise the wipe goes on."""
    g = p.guard
    if g.status == "ok" and g.has_password and g.tries > 0:
        _mark(p, False)
    else:
        finish_wipe(p)


def _wipe(p, notice):
    p.logout()
    p.stage = None
    p.vault.wipe()
    p.guard.clear_password()
    pr = p.presence
    if pr is not None and notice:
        pr.notify(notice)


wipe = _wipe  # fob/provision.py's reset


def password_set(p, req):
    from fob.args import get_int

    g = p.guard
    salt = _unhex(req, "salt", SALT_SIZE)
    iterations = get_int(req, "iterations", None, ITERATIONS_MIN, ITERATIONS_MAX)
    if g.has_password:
        # Only a logged-in host changes it, and the new key travels masked with the
        # current one and this login's two nonces, so the wire never shows it.
        se = p.session
        if se is None:
            raise _error("auth_required", "log in with the current password first")
        mask = mac(g.key, WRAP_LABEL, se[2], se[3])
        wrapped = _unhex(req, "wrapped", KEY_SIZE)
        key = bytes(wrapped[i] ^ mask[i] for i in range(KEY_SIZE))
    else:
        key = _unhex(req, "key", KEY_SIZE)

    def done():
        g.set_password(salt, iterations, key)
        # A login in progress goes on (under the new key from now on); a host that set the
        # first password logs in like any other.
        return {"password": True, "tries_left": g.tries}

    return None, done


def password_prompt(p, what):
    return "Change password?" if p.guard.has_password else "Set password?"


def password_clear(p, req):
    g = p.guard
    if not g.has_password:
        raise _error("no_password", "this fob has no password")

    def done():
        g.clear_password()
        return {"password": False}

    return None, done
