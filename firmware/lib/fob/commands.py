# The everyday commands a host sends (hello/info, time_get, list, code, selftest), loaded
# at the first request and kept: fob/protocol.py, in RAM from boot on, keeps only the
# framing. Each takes the Protocol and the request and returns what fob/policy.py says.
from fob import policy, version
from fob.args import get_bool, get_int
from fob.vault import ALGORITHMS, BATCH_MAX, ISSUER_MAX, NAME_MAX, PERIOD_MAX, SECRET_MAX, \
    SECRET_MIN, VaultError
from fob.wire import ACT, LONG, MAX_LINE, NEED_PRESS


def c_hello(p, req):
    v = p.vault
    info = p.info
    g = p.guard
    out = {
        "protocol": version.PROTOCOL,
        "firmware": info.get("firmware", version.FIRMWARE),
        "serial": info.get("serial"),
        "board": info.get("board"),
        "capabilities": policy.names(),
        "algorithms": list(ALGORITHMS),
        "types": ["totp", "hotp"],
        "max_line": MAX_LINE,
        "password": g.has_password,
        "logged_in": p.authed,
        "limits": {"name": NAME_MAX, "issuer": ISSUER_MAX, "secret_min": SECRET_MIN,
                   "secret_max": SECRET_MAX, "period_max": PERIOD_MAX,
                   # Label strips (fob/labels.py): rows high, most columns.
                   "strip_height": 16, "strip_width": 640, "batch_max": BATCH_MAX},
        "heap": _heap(),
    }
    for k in ("display", "buttons"):
        if k in info:
            out[k] = info[k]
    if g.has_password and not p.authed:
        # A host that has not logged in learns what a login needs, nothing of what the
        # fob holds.
        return out
    out.update({
        "battery": info.get("battery"),
        "capacity": v.capacity,
        "accounts": len(v.accounts),
        "bytes_used": v.bytes_used,
        "bytes_free": v.bytes_free,
        "time": p.now(),
        "clock": p.clock_state(),
        "aging": p.aging(),
        "tries_left": g.tries,
        "add_presence": g.add_presence,
        "usb_codes": _usb_codes(p),
    })
    return out


def _usb_codes(p):
    # The holder's choice (fob/settings.py): codes go to a host without a press.
    s = p.settings
    return bool(s is not None and s.usb_codes)



def c_time_get(p, req):
    return p.time_reply()

def c_list(p, req):
    return LONG, {}, "accounts", _list_items(p.vault), 16, None

def c_code(p, req):
    accounts = p.vault.accounts
    pick = None
    if "index" in req:
        i = get_int(req, "index")
        if i < 0 or i >= len(accounts):
            raise VaultError("not_found", "no account at index %d (there are %d)"
                             % (i, len(accounts)))
        pick = [(i, accounts[i])]
        if pick[0][1].hotp:
            # The next code of a counter-based account moves its counter on for good: it
            # goes to a host only with a press, whatever usb_codes says.
            return ACT, pick, lambda pressed: _hotp_code(p, pick[0]), NEED_PRESS
    elif "all" in req:
        get_bool(req, "all")
    t = _now(p)
    if pick is None and not len(accounts):
        return LONG, {"time": t}, "codes", iter(()), 1, None

    def done(pressed):
        # The codes of the second the holder agreed in.
        t = _now(p)
        return (LONG, {"time": t}, "codes", _code_items(
            enumerate(p.vault.accounts) if pick is None else pick, t), 2,
            _hashes_loaded_go(_hashes_loaded()))

    # A host gets codes only with the holder's press, unless the holder turned
    # usb_codes on (with a press).
    return ACT, pick, done, 0 if _usb_codes(p) else NEED_PRESS


def code_prompt(p, pick):
    if pick is None:
        n = len(p.vault.accounts)
        return "Send %d code%s to the computer?" % (n, "" if n == 1 else "s")
    i, acc = pick[0]
    return "Send the %scode of #%d to the computer?\n%s" % ("next " if acc.hotp else "",
                                                          i + 1, entry(acc))


def entry(acc, new=""):
    """An account's fields for a prompt: issuer and name, each on a line of its own, so no
    name can pass for an issuer and a name (an entry that exists is also named by its
    number in the prompt's title)."""
    return "%sIssuer: %s\n%sName: %s" % (new, acc.issuer, new, acc.name)


def _now(p):
    t = p.now()
    if t is None:
        state = p.clock_state()
        if state == "no_answer":
            raise VaultError("clock_fault", "the fob's clock chip is not answering, so it "
                             "shows no code")
        raise VaultError("clock_not_set", "the fob's clock is not set (%s)" % state)
    return t

def c_selftest(p, req):
    from fob import selftest

    result = [True]

    def tail():
        _unload("selftest")
        return {"pass": result[0]}

    return LONG, {}, "checks", selftest.checks(result), 1, tail


c_info = c_hello


def _heap():
    # Free heap now and its low-water mark (fob/heap.py); None where the port has no gc
    # counts (CPython, where the tests run the protocol).
    from fob import heap

    return heap.report()


def _unload(name):
    # Forget a module imported for one request, so the collector can take it back.
    from fob.wire import unload

    unload(name)


def _list_items(v):
    for i, a in enumerate(v.accounts):
        item = {"index": i, "issuer": a.issuer, "name": a.name, "algorithm": a.algorithm,
                "digits": a.digits, "period": a.period, "created": a.created}
        if a.hotp:
            item["type"] = "hotp"
            item["counter"] = v.counters().get(a)
        yield item


def _hotp_code(p, pick):
    from fob import otp

    i, a = pick
    try:
        c = p.vault.counters().take(a)
    except OSError:
        # Not moved on, so not given: a code is never given twice.
        raise VaultError("io", "cannot record the HOTP counter on flash; no code given") \
            from None
    return {"time": p.now(), "codes": [{
        "index": i, "issuer": a.issuer, "name": a.name, "digits": a.digits, "type": "hotp",
        "counter": c,
        "code": otp.hotp(a.secret, c, digits=a.digits, algorithm=a.algorithm.lower())}]}


def _hashes_loaded():
    import sys

    from fob.hmac import PURE_MODULES

    return [name for name in PURE_MODULES if "fob." + name in sys.modules]


def _hashes_loaded_go(before):
    # The reply's tail: the pure hashes that its codes loaded go again, as a selftest's
    # module goes. Codes of all 200 accounts on CircuitPython 9.2.8 load SHA-256 and
    # SHA-512 (about 9 KB), and with them kept a rename at 200 ran out of memory. The
    # fob's screen loads the one it needs again when it shows such an account.
    def tail():
        for name in _hashes_loaded():
            if name not in before:
                _unload(name)
        return {}

    return tail


def _code_items(pick, t):
    from fob import otp

    for i, a in pick:
        item = {"index": i, "issuer": a.issuer, "name": a.name, "digits": a.digits,
                "period": a.period, "seconds_left": a.period - t % a.period}
        if a.hotp:
            item["code"] = None
            item["type"] = "hotp"
            item["error"] = {"code": "hotp", "message": "an HOTP account's next code is "
                             "asked for on its own (index): it moves the counter on"}
            yield item
            continue
        try:
            item["code"] = otp.totp(a.secret, t, digits=a.digits, period=a.period,
                                    algorithm=a.algorithm.lower())
        except MemoryError:
            item["code"] = None
            item["error"] = {"code": "internal", "message": "out of memory"}
        except Exception as e:
            # The exception text is not passed on: it could quote key material.
            item["code"] = None
            item["error"] = {"code": "internal", "message": "cannot compute the code (%s)"
                             % type(e).__name__}
        yield item
