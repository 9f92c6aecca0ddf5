# The everyday commands a host sends (hello/info, time_get, list, code, selftest), loaded
# at the first request and kept: fob/protocol.py, in RAM from boot on, keeps only the
# framing. Each takes the Protocol and the request; a dict is the reply, a 5-tuple a long
# reply (see Protocol._start_job).
from fob import policy, version
from fob.args import get_bool, get_int
from fob.protocol import MAX_LINE
from fob.vault import ALGORITHMS, ISSUER_MAX, NAME_MAX, PERIOD_MAX, SECRET_MAX, SECRET_MIN, \
    VaultError

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_RTC_SECONDS = const(0x00)  # DS3231 seconds register, BCD


def c_hello(p, req):
    v = p.vault
    info = p.info
    g = p.guard
    out = {
        "protocol": version.PROTOCOL,
        "firmware": info.get("firmware", version.FIRMWARE),
        "serial": info.get("serial"),
        "board": info.get("board"),
        "battery": info.get("battery"),
        "capabilities": policy.names(),
        "algorithms": list(ALGORITHMS),
        "capacity": v.capacity,
        "accounts": len(v.accounts),
        "bytes_used": v.bytes_used,
        "bytes_free": v.bytes_free,
        "max_line": MAX_LINE,
        "time": p.now(),
        "clock": p.clock_state(),
        "aging": p.aging(),
        "password": g.has_password,
        "tries_left": g.tries,
        "add_presence": g.add_presence,
        "logged_in": p.authed,
        "limits": {"name": NAME_MAX, "issuer": ISSUER_MAX, "secret_min": SECRET_MIN,
                   "secret_max": SECRET_MAX, "period_max": PERIOD_MAX},
        "heap": _heap(),
    }
    for k in ("display", "buttons"):
        if k in info:
            out[k] = info[k]
    return out



def c_time_get(p, req):
    t = p.now()
    if t is not None:
        # clock.now() reads the chip only near the tick it expects, so for a while after
        # a stall it can still give the previous second; hosts time the fob's ticks to
        # milliseconds with time_get, so ask the chip's seconds register itself.
        try:
            b = bytearray(1)
            with p.clock.rtc.i2c_device as dev:
                dev.write_then_readinto(bytes((_RTC_SECONDS,)), b)
            if ((b[0] >> 4) * 10 + (b[0] & 15) - t) % 60 == 1:
                t += 1
        except Exception:
            pass
    return {"time": t, "valid": t is not None, "clock": p.clock_state(),
            "aging": p.aging()}

def c_list(p, req):
    return ({}, "accounts", _list_items(p.vault.accounts), 16, None)

def c_code(p, req):
    accounts = p.vault.accounts
    pick = None
    if "index" in req:
        i = get_int(req, "index")
        if i < 0 or i >= len(accounts):
            raise VaultError("not_found", "no account at index %d (there are %d)"
                             % (i, len(accounts)))
        pick = [(i, accounts[i])]
    elif "all" in req:
        get_bool(req, "all")
    t = p.now()
    if t is None:
        state = p.clock_state()
        if state == "no_answer":
            raise VaultError("clock_fault", "the fob's clock chip is not answering, so it "
                             "shows no code")
        raise VaultError("clock_not_set", "the fob's clock is not set (%s)" % state)
    if pick is None:
        pick = enumerate(accounts)
    return ({"time": t}, "codes", _code_items(pick, t), 2, None)

def c_selftest(p, req):
    from fob import selftest

    result = [True]

    def tail():
        _unload("selftest")
        return {"pass": result[0]}

    return ({}, "checks", selftest.checks(result), 1, tail)


c_info = c_hello


def _heap():
    # Free heap now and its low-water mark (fob/heap.py); None where the port has no gc
    # counts (CPython, where the tests run the protocol).
    from fob import heap

    return heap.report()


def _unload(name):
    # Forget a module imported for one request, so the collector can take it back.
    import sys

    import fob

    sys.modules.pop("fob." + name, None)
    try:
        delattr(fob, name)
    except (AttributeError, TypeError):
        pass


def _list_items(accounts):
    for i, a in enumerate(accounts):
        yield {"index": i, "issuer": a.issuer, "name": a.name, "algorithm": a.algorithm,
               "digits": a.digits, "period": a.period, "created": a.created}


def _code_items(pick, t):
    from fob import otp

    for i, a in pick:
        item = {"index": i, "issuer": a.issuer, "name": a.name, "digits": a.digits,
                "period": a.period, "seconds_left": a.period - t % a.period}
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
