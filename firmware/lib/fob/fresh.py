# setup: a fresh fob's clock, first password and first accounts under one question, so a
# fleet of new fobs takes one press each. Loaded by fob/policy.py at the first such
# request; a fob in use never needs it.
#
# Fresh: no password (nor a damaged password record) and no accounts. Anything else is
# refused with not_fresh before the holder is asked: the single requests (time_set,
# password_set, add, add_many) then do each part under their own rules.
#
# The parts are the single requests' own handlers, so each is checked exactly as it would
# be alone (nothing changes while checking), and on the holder's yes their own commit
# paths run one after the other, each durable before the next: the clock (a pressed set),
# the password, the accounts. A power cut between two leaves a fob with its clock set and
# perhaps a password, but no accounts: what a host that provisions fobs takes for an
# unfinished one (docs/admin.md).
from micropython import const

from fob.vault import VaultError
from fob.wire import ACT, NEED_PRESS, WORK

# Each account adds two rows to the question, which the holder must see whole (fob/
# question.py pages it) within its 30 s: more accounts go in add_many afterwards.
ACCOUNTS_MAX = const(8)
_PASSWORD_KEYS = ("salt", "iterations", "key")
_SETUP = b"setup"


def setup(p, req):
    g = p.guard
    v = p.vault
    if g.has_password or len(v.accounts):
        raise VaultError("not_fresh", "setup is only for a fresh fob (no password, no "
                         "accounts); this one has %s: use time_set, password_set and "
                         "add or add_many instead; nothing was changed"
                         % ("a password" if g.has_password else "accounts"))
    items = req.get("accounts", [])
    if not isinstance(items, list):
        from fob.args import bad

        raise bad("accounts must be a list")
    if len(items) > ACCOUNTS_MAX:
        raise VaultError("full", "setup takes at most %d accounts (the holder reads them "
                         "all); add the rest with add_many afterwards" % ACCOUNTS_MAX)
    from fob import clockset

    clock = clockset.time_set(p, {"time": req.get("time"), "force": req.get("force", False)})
    key = None
    password = None
    # Any of the password's fields asks for one (password_set then wants all three).
    if "key" in req or "salt" in req or "iterations" in req:
        from fob import access

        password = access.password_set(p, {k: req.get(k) for k in _PASSWORD_KEYS})
        key = password[1]
    accounts = None
    if items:
        from fob import provision

        sub = {"accounts": items}
        if "strips" in req:
            sub["strips"] = req["strips"]
        accounts = provision.add_many(p, sub)

    def done(pressed):
        return WORK, work()

    def work():
        # The single requests' commit paths, in this order, each on flash before the next
        # begins (fob/wire.py's WORK: a step a loop pass).
        out = yield from _run(clock[2])
        yield
        if password is not None:
            out.update((yield from _run(password[2])))
            yield
        else:
            out["password"] = False
        if accounts is not None:
            out.update((yield from _run(accounts[2])))
            yield
            # `time`: the fob's time the codes are for (the clock's part said it too).
            out["time"], out["codes"] = _codes(p, out["indexes"])
        return out

    return ACT, (clock[1][0], key, accounts[1] if accounts else None), done, NEED_PRESS


def _run(done):
    # A part's done(True): its reply, its long work (WORK) a step a pass.
    result = done(True)
    if isinstance(result, tuple) and result[0] == WORK:
        result = yield from result[1]
    return result


def _codes(p, indexes):
    # Each new account's code at the fob's time (None for HOTP: its next code is the
    # holder's), so the host checks every account from this one reply, as add's code.
    t = p.now()
    out = []
    for i in indexes:
        acc = p.vault.accounts[i]
        if acc.hotp or t is None:
            out.append(None)
            continue
        from fob import otp

        out.append(otp.totp(acc.secret, t, digits=acc.digits, period=acc.period,
                            algorithm=acc.algorithm.lower()))
    return t, out


def check_value(t, key, h):
    """The setup's check chain (docs/protocol.md, "Check values"): the time, the new
    password key (if any) and the accounts' chain `h`."""
    import struct

    from fob import check
    from fob.hmac import digest

    key = key or b""
    return digest("sha1", check.start() + _SETUP + struct.pack(">IB", t, len(key)) + key
                  + (h if h is not None else check.start()))


def setup_prompt(p, what):
    t, key, accounts = what
    from fob.commands import entry

    rows = ["Set up fob?", "Clock: " + _date(t) + " UTC"]
    if key is not None:
        rows.append("Password: set")
    h = None
    if accounts is not None:
        for acc in accounts[0]:
            rows.append(entry(acc))
        h = accounts[3]
    from fob import check

    rows.append("Check: " + check.text(check_value(t, key, h)))
    return "\n".join(rows)


def _date(t):
    from fob.clock import civil_from_epoch

    c = civil_from_epoch(t)
    return "%04d-%02d-%02d %02d:%02d" % c[:5]
