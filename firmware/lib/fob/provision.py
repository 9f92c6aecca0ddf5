# The protocol's commands that change what the fob stores, or its clock: add, add_many
# (with staged batches), abort, delete, rename, move, reset, time_set, aging_get/aging_set,
# settings_get/settings_set. A fob is provisioned now and then and shows codes every day,
# so these live apart from fob/protocol.py: fob/policy.py imports this module at the first
# such request and keeps it from then on. A handler checks the request and changes
# nothing: a change goes back to fob/policy.py as (what, done), and the *_prompt function
# the policy table names words it when it is committed.
import time

from fob import base32
from fob.args import bad as _bad
from fob.args import get_bool as _get_bool
from fob.args import get_int as _get_int
from fob.args import get_str as _get_str
from fob.protocol import monotonic as _monotonic
from fob.vault import (ALGORITHMS, CAPACITY, PERIOD_MAX, SECRET_MAX, SECRET_MIN, Account,
                       VaultError, record_size)

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_SECRET_TEXT_MAX = const(512)
_SECRET_WEAK = const(10)
_PART_MAX = const(9999)
# Slots of a staged batch (a list: cheaper than an object). The first three are read by
# fob/protocol.py too, which drops the batch when it expires.
_S_AT = const(0)         # time.monotonic() of the last part
_S_LINKED = const(1)     # the port said "connected" at the last part
_S_ACCOUNTS = const(2)   # Account objects, in request order
_S_PARTS = const(3)      # parts staged so far: the next one must carry this number
_S_OVERWRITE = const(4)
_S_HASHES = const(5)     # hash(key) -> position in the accounts, for duplicates
_S_NEW = const(6)        # how many are not yet in the vault
_S_BYTES = const(7)      # vault bytes the batch adds
# The DS3231 counts years 2000-2099 only.
_TIME_MIN = 946684800
_TIME_MAX = 4102444799
# Setting the clock back by more than this (seconds) before the highest time seen needs
# force (and a press: it is beyond the window below).
_BACK_FREE = const(30)
# Without a press the host may move the clock by this many seconds in all (the sum of the
# sizes of its moves, forward or back) between two sets the holder pressed for. A sync
# moves it by milliseconds; a DS3231 drifts about a minute a year at 2 ppm.
CLOCK_WINDOW = const(120)
# Each move costs at least this much of the window (ms): a host cannot wear the flash
# with a stream of zero-sized moves (at most 2,400 writes between presses).
_MOVE_MIN_MS = const(50)
# Where the moves so far are kept (ms, with a CRC), so a replug does not refill the window.
_MOVES_FILE = "clock_moves.bin"
_MOVES_MAGIC = b"OTPM"
# A pressed set applies the host's time plus the time since the request came; the DS3231
# restarts its second when written, so the write waits for the fraction to reach a whole
# second unless it is within this (s) of one already.
_SET_SLACK = 0.02
# A prompt fits the smallest screen: three lines of 21 characters on a 128x32 panel.
_PROMPT_MAX = const(63)
# The DS3231's aging offset register is a signed byte (datasheet "Aging Offset").
_AGING_MIN = const(-128)
_AGING_MAX = const(127)


def _leaks(message, text):
    # A decoder message quoting a run of the offending input would hand part of a secret
    # back; any 4 characters of it in a row is treated as a quote.
    clean = text.replace(" ", "").upper()
    msg = message.upper()
    for i in range(len(clean) - 3):
        if clean[i:i + 4] in msg:
            return True
    return False


def _secret(req):
    text = req.get("secret")
    if not isinstance(text, str):
        raise VaultError("bad_secret", "secret must be base32 text")
    if len(text) > _SECRET_TEXT_MAX:
        raise VaultError("bad_secret", "secret is too long (at most %d bytes)" % SECRET_MAX)
    try:
        key = base32.decode(text)
    except MemoryError:
        raise
    except Exception as e:  # the decoder's ValueError, or anything odd it may raise
        why = str(e) if isinstance(e, ValueError) else ""
        if not why or len(why) > 100 or _leaks(why, text):
            why = "not valid base32"
        raise VaultError("bad_secret", "secret: " + why) from None
    n = len(key)
    if n < SECRET_MIN or n > SECRET_MAX:
        raise VaultError("bad_secret", "secret is %d bytes once decoded (must be %d to %d)"
                         % (n, SECRET_MIN, SECRET_MAX))
    return key


def _account(req, created):
    """Build an Account from request arguments; returns (account, warning or None)."""
    if not isinstance(req, dict):
        raise _bad("must be an object")
    name = _get_str(req, "name", "")
    issuer = _get_str(req, "issuer", "")
    alg = _get_str(req, "algorithm", "SHA1").upper()
    if alg not in ALGORITHMS:
        raise _bad("algorithm must be one of " + ", ".join(ALGORITHMS))
    if alg == "STEAM":
        digits = _get_int(req, "digits", 5, 5, 5)
    else:
        digits = _get_int(req, "digits", 6, 6, 8)
    period = _get_int(req, "period", 30, 1, PERIOD_MAX)
    key = _secret(req)
    warning = None
    if len(key) < _SECRET_WEAK:
        warning = "secret is only %d bits; RFC 4226 asks for at least 128" % (len(key) * 8)
    return Account(name, issuer, key, alg, digits, period, created), warning


def _find(accounts, i, key):
    # `i` is where key's hash points (or None); a hash collision is settled by a scan.
    if i is None:
        return None
    if accounts[i].key() == key:
        return i
    for i, a in enumerate(accounts):
        if a.key() == key:
            return i
    return None


def _span(seconds):
    if seconds >= 2 * 86400:
        return "%d days" % (seconds // 86400)
    if seconds >= 7200:
        return "%d h" % (seconds // 3600)
    if seconds >= 120:
        return "%d min" % (seconds // 60)
    return "%d s" % seconds


def _move_text(s):
    sign = "-" if s < 0 else "+"
    s = abs(s)
    if s < 10:
        return "%s%.2f s" % (sign, s)
    s = int(s + 0.5)
    if s >= 86400:
        return "%s%d d %02d h" % (sign, s // 86400, s % 86400 // 3600)
    if s >= 3600:
        return "%s%d h %02d min" % (sign, s // 3600, s % 3600 // 60)
    if s >= 60:
        return "%s%d min %02d s" % (sign, s // 60, s % 60)
    return "%s%d s" % (sign, s)


def _ns():
    f = getattr(time, "monotonic_ns", None)
    if f is not None:
        return f()
    return int(_monotonic() * 1000000000)


def _moves_path(p):
    root = p.vault.root or ""
    return root + ("" if not root or root.endswith("/") else "/") + _MOVES_FILE


def moves_used(p):
    """Milliseconds of the clock window used since the last pressed set; a damaged record
    counts as all of it (the next move then needs a press), a missing one as none."""
    import struct

    from fob.vault import crc32

    fs = p.vault.fs
    path = _moves_path(p)
    if fs.size(path) is None:
        return 0
    try:
        f = fs.open(path, "rb")
        try:
            data = f.read(12)
        finally:
            f.close()
        if len(data) == 12 and data[:4] == _MOVES_MAGIC and \
                struct.unpack("<I", data[8:])[0] == crc32(data[:8]):
            return struct.unpack("<I", data[4:8])[0]
    except OSError:
        pass
    return CLOCK_WINDOW * 1000


def _save_moves(p, used):
    import struct

    from fob.vault import crc32

    fs = p.vault.fs
    data = _MOVES_MAGIC + struct.pack("<I", used)
    f = fs.open(_moves_path(p), "wb")
    try:
        f.write(data)
        f.write(struct.pack("<I", crc32(data)))
        f.flush()
    finally:
        f.close()
    fs.sync()


def _date(t):
    from fob.clock import civil_from_epoch

    c = civil_from_epoch(t)
    return "%04d-%02d-%02d %02d:%02d" % c[:5]


def time_set(p, req):
    t = _get_int(req, "time", None, _TIME_MIN, _TIME_MAX)
    force = _get_bool(req, "force")
    if p.clock is None:
        raise VaultError("io", "this fob has no clock")
    g = p.guard
    # Going back is how codes for a later time could be read off a fob now, so it is
    # measured from the highest time the fob has seen, not just from its clock.
    seen = max(g.high_time, p.now() or 0)
    back = seen - t
    if back > _BACK_FREE and not force:
        raise VaultError("time_backwards", "that is %s before the latest time this fob has "
                         "seen; send force (and press the button on the fob) to set it "
                         "anyway" % _span(back))
    # [time asked, when the request came (ns), pressed, the move (ms), window used (ms)]
    what = [t, _ns(), False, 0, 0]

    def done():
        # The host's time plus what passed since its request came (the holder's press),
        # so a pressed set is as right as one answered at once.
        # Whole seconds and the fraction apart: a board's float cannot hold an epoch to
        # the millisecond.
        elapsed = (_ns() - what[1]) / 1000000000
        whole = t + int(elapsed)
        fraction = elapsed - int(elapsed)
        if fraction > _SET_SLACK:
            time.sleep(1 - fraction)
            whole += 1
        # The window is written before the clock, so a power cut between the two cannot
        # give a move for free.
        used = 0 if what[2] else what[4] + max(abs(what[3]), _MOVE_MIN_MS)
        try:
            _save_moves(p, used)
        except OSError:
            if not what[2]:
                raise VaultError("io", "cannot record the clock move on flash; nothing was "
                                 "changed") from None
        try:
            p.clock.set(whole)
        except Exception as e:
            raise VaultError("io", "cannot set the clock (%s)" % type(e).__name__) from None
        g.see_time(whole, force=back > _BACK_FREE)
        from fob import commands

        out = commands.c_time_get(p, req)
        out["window_left"] = CLOCK_WINDOW - used // 1000
        return out

    return what, done


def time_prompt(p, what):
    """None for a move that fits what is left of the window; else the move, worded."""
    t = what[0]
    now = p.now()
    what[4] = moves_used(p)
    if now is None:
        what[2] = True
        return "Set clock to " + _date(t) + " UTC?"
    fraction = getattr(p.clock, "fraction", None)
    move = (t - now) - (fraction() if fraction is not None else 0)
    what[3] = int(abs(move) * 1000)
    if what[4] + max(what[3], _MOVE_MIN_MS) <= CLOCK_WINDOW * 1000:
        return None
    what[2] = True
    return "Clock " + _move_text(move) + "?"


def _rtc(p):
    rtc = getattr(p.clock, "rtc", None)
    if rtc is None:
        raise VaultError("io", "this fob's clock has no aging offset register")
    return rtc


def _read_aging(rtc):
    try:
        return rtc.calibration
    except Exception as e:
        raise VaultError("io", "cannot read the aging offset (%s)" % type(e).__name__) \
            from None


def aging_get(p, req):
    return {"aging": _read_aging(_rtc(p))}


def aging_set(p, req):
    n = _get_int(req, "aging", None, _AGING_MIN, _AGING_MAX)
    rtc = _rtc(p)
    was = _read_aging(rtc)
    if n == was:
        return {"aging": was, "was": was}
    return (was, n), lambda: _write_aging(rtc, n, was)


def aging_prompt(p, what):
    # The aging offset trims the clock's rate (about 0.1 ppm a step).
    return "Clock rate trim %d to %d?" % what


def _write_aging(rtc, n, was):
    try:
        # The driver's setter also starts a temperature conversion, which is when the
        # DS3231 applies a new offset; otherwise it would wait for the next one (64 s).
        rtc.calibration = n
    except Exception as e:
        raise VaultError("io", "cannot write the aging offset (%s)" % type(e).__name__) \
            from None
    now = _read_aging(rtc)
    if now != n:
        raise VaultError("io", "the aging offset reads %d after writing %d" % (now, n))
    return {"aging": now, "was": was}


def _short(label, n):
    return label if len(label) <= n else label[:n - 2] + ".."


def add(p, req):
    overwrite = _get_bool(req, "overwrite")
    acc, warning = _account(req, p.now() or 0)
    v = p.vault
    exists = v.find(acc.issuer, acc.name) is not None
    # What would fail is refused before anybody is asked to press for it.
    if exists and not overwrite:
        raise VaultError("duplicate", "an account for %s already exists" % acc.label())
    if not exists and len(v.accounts) >= CAPACITY:
        raise VaultError("full", "the vault is full (%d accounts)" % CAPACITY)

    def done():
        old = len(v.accounts)
        index = v.add(acc, overwrite)
        # A new account goes at the end; a replaced one keeps its place.
        out = {"index": index, "replaced": index < old}
        if warning:
            out["warning"] = warning
        return out

    return acc, done


def add_prompt(p, acc):
    label = _short(acc.label(), _PROMPT_MAX - 9)
    if p.vault.find(acc.issuer, acc.name) is not None:
        return "Replace " + label + "?"
    if p.guard.add_presence:
        return "Add " + label + "?"
    return None


def add_many(p, req):
    st = None
    part = 0
    if "part" in req or req.get("stage", False) is not False:
        # Taken out for the whole request: a part that fails drops its batch, so no
        # later part can complete a batch with a hole in it.
        st = p.stage
        p.stage = None
        part = _get_int(req, "part", None, 0, _PART_MAX)
    overwrite = _get_bool(req, "overwrite")
    stage = _get_bool(req, "stage")
    items = req.get("accounts")
    if not isinstance(items, list):
        raise _bad("accounts must be a list")
    if len(items) > CAPACITY:
        raise VaultError("full", "at most %d accounts fit" % CAPACITY)
    if part == 0:
        st = [0, False, [], 0, overwrite, {}, 0, 0]
    elif st is None or st[_S_PARTS] != part:
        raise VaultError("no_batch", "part %d does not continue a staged batch (it was "
                         "aborted, timed out or broken off); nothing was stored" % part)
    elif st[_S_OVERWRITE] != overwrite:
        raise _bad("overwrite must be the same in every part of a batch")
    warnings = _stage_items(p, st, items)
    if stage:
        st[_S_PARTS] = part + 1
        st[_S_AT] = _monotonic()
        st[_S_LINKED] = bool(getattr(p.port, "connected", False))
        p.stage = st
        out = {"staged": len(st[_S_ACCOUNTS]), "part": part}
    else:
        accounts = st[_S_ACCOUNTS]

        def done():
            old = len(p.vault.accounts)
            indexes = p.vault.add_many(accounts, overwrite)
            replaced = 0
            for i in indexes:
                if i < old:
                    replaced += 1
            out = {"added": len(indexes) - replaced, "replaced": replaced,
                   "indexes": indexes}
            if warnings:
                out["warnings"] = warnings
            return out

        return (accounts, overwrite), done
    if warnings:
        out["warnings"] = warnings
    return out


def add_many_prompt(p, what):
    # Counted now, against the vault as it is at the commit: an account renamed since a
    # part was staged is replaced, and the prompt says so.
    accounts, overwrite = what
    v = p.vault
    keys = {}
    for i, a in enumerate(v.accounts):
        keys[hash(a.key())] = i
    existing = v.accounts
    replace = 0
    first = None
    for acc in accounts:
        if _find(existing, keys.get(hash(acc.key())), acc.key()) is not None:
            replace += 1
            first = acc
    n = len(accounts)
    if replace and not overwrite:
        raise VaultError("duplicate", "an account for %s already exists; nothing was "
                         "stored" % first.label())
    if n == 1:
        return add_prompt(p, accounts[0])
    if replace == n:
        return "Replace %d accounts?" % n
    if replace:
        return "Add %d, replace %d?" % (n - replace, replace)
    if n and p.guard.add_presence:
        return "Add %d accounts?" % n
    return None


def _stage_items(p, st, items):
    # Checks `items` against the vault and the batch so far and appends them to the
    # batch; returns the warnings. Element numbers count from the start of the batch.
    v = p.vault
    accounts = v.accounts
    free = v.bytes_free
    created = p.now() or 0
    staged = st[_S_ACCOUNTS]
    hashes = st[_S_HASHES]
    # Hashes (small ints) of the vault's keys, built once per request: a lookup per
    # element instead of a scan per element.
    keys = {}
    for i, a in enumerate(accounts):
        keys[hash(a.key())] = i
    warnings = []
    for item in items:
        prefix = "accounts[%d]: " % len(staged)
        try:
            acc, warning = _account(item, created)
            key = acc.key()
            h = hash(key)
            if _find(staged, hashes.get(h), key) is not None:
                raise VaultError("duplicate", "the same account appears twice: "
                                 + acc.label())
            i = _find(accounts, keys.get(h), key)
            size = record_size(acc)
            if i is None:
                st[_S_NEW] += 1
                if len(accounts) + st[_S_NEW] > CAPACITY:
                    raise VaultError("full", "the vault is full (%d accounts)" % CAPACITY)
            elif not st[_S_OVERWRITE]:
                raise VaultError("duplicate", "an account for %s already exists"
                                 % acc.label())
            else:
                size -= record_size(accounts[i])
            st[_S_BYTES] += size
            if st[_S_BYTES] > free:
                raise VaultError("full", "the vault is full (%d bytes free, %d needed)"
                                 % (free, st[_S_BYTES]))
        except VaultError as e:
            raise VaultError(e.code, prefix + e.message) from None
        hashes[h] = len(staged)
        staged.append(acc)
        if warning:
            warnings.append(prefix + warning)
    return warnings


def abort(p, req):
    n = p.staged
    p.stage = None
    return {"dropped": n}


def delete(p, req):
    v = p.vault
    if "index" in req:
        if "name" in req or "issuer" in req:
            raise _bad("give index, or issuer and name, not both")
        i = _get_int(req, "index")
    elif "name" in req:
        issuer = _get_str(req, "issuer", "")
        name = _get_str(req, "name")
        i = v.find(issuer, name)
        if i is None:
            raise VaultError("not_found", "no account for %s / %s" % (issuer, name))
    else:
        raise _bad("give index, or issuer and name")
    if not 0 <= i < len(v.accounts):
        raise VaultError("not_found", "no account at index %d (there are %d)"
                         % (i, len(v.accounts)))

    def done():
        gone = v.delete(i)
        return {"deleted": {"index": i, "issuer": gone.issuer, "name": gone.name}}

    return i, done


def delete_prompt(p, i):
    return "Delete " + _short(p.vault.accounts[i].label(), _PROMPT_MAX - 8) + "?"


def _index(v, i, what="index"):
    n = len(v.accounts)
    if not 0 <= i < n:
        raise VaultError("not_found", "no account at %s %d (there are %d)" % (what, i, n))
    return i


def rename(p, req):
    v = p.vault
    i = _get_int(req, "index")
    name = _get_str(req, "name")
    issuer = req.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise _bad("issuer must be a string")
    old = v.accounts[_index(v, i)]
    if issuer is None:
        issuer = old.issuer
    # Built (and so checked) now: what would fail is refused before anybody is asked.
    new = Account(name, issuer, old.secret, old.algorithm, old.digits, old.period,
                  old.created)
    j = v.find(issuer, name)
    if j is not None and j != i:
        raise VaultError("duplicate", "an account for %s already exists" % new.label())
    if name == old.name and issuer == old.issuer:
        return {"index": i, "issuer": issuer, "name": name}

    def done():
        acc = v.rename(i, name, issuer)
        return {"index": i, "issuer": acc.issuer, "name": acc.name}

    return (old.label(), new.label()), done


def rename_prompt(p, what):
    return "Rename %s to %s?" % (_short(what[0], 26), _short(what[1], 25))


def move(p, req):
    v = p.vault
    i = _index(v, _get_int(req, "index"))
    j = _index(v, _get_int(req, "to"), "position")
    if i == j:
        return {"index": j}
    return (i, j), lambda: {"index": v.move(i, j)}


def move_prompt(p, what):
    i, j = what
    return "Move %s to place %d?" % (_short(p.vault.accounts[i].label(), 38), j + 1)


def reset(p, req):
    if req.get("confirm") is not True:
        raise _bad("reset erases every account; send confirm: true")

    def done():
        from fob import access

        access.wipe(p, None)
        return {"accounts": 0, "password": False}

    return None, done



# -- settings: the fob's own preferences (fob/settings.py), read and changed by a host ----

_SETTING_KEYS = ("privacy", "idle_timeout", "typing", "layout")
# Settings changes that need no press each write the flash: a host may make this many
# per power-up, not a stream of them that wears a flash sector out (about 100,000 erases).
_QUIET_WRITES = const(64)
# The keyboard layouts fob/hidtype.py types in (kept here, not in the resident settings).
_LAYOUTS = ("us", "de", "fr")


def _settings(p):
    # The UI's own Settings object, so a change shows at once; a fob without a UI reads
    # (and writes) the same file itself.
    s = getattr(p, "settings", None) or getattr(getattr(p, "presence", None), "settings",
                                                 None)
    if s is None:
        from fob.settings import Settings

        s = p.settings = Settings(getattr(p.vault, "root", "/"))
    return s


def _keyboard_enabled():
    # Whether the USB keyboard interface is up now (boot.py enables it at plug-in only
    # when typing is on); None where there is no usb_hid at all.
    try:
        import usb_hid
    except ImportError:
        return None
    for dev in usb_hid.devices:
        if dev.usage_page == 0x01 and dev.usage == 0x06:
            return True
    return False


def settings_get(p, req):
    s = _settings(p)
    out = {"privacy": s.privacy, "idle_timeout": s.idle_timeout, "typing": s.typing,
           "layout": s.layout, "layouts": list(_LAYOUTS), "keyboard": _keyboard_enabled(),
           "saved": s.saved}
    g = getattr(p, "guard", None)
    if g is not None:
        out["add_presence"] = g.add_presence
    return out


def settings_set(p, req):
    from fob.settings import IDLE_MAX, IDLE_MIN

    s = _settings(p)
    # Every value is checked before any is applied: a bad one changes nothing.
    new = {}
    for key in ("privacy", "typing"):
        if key in req:
            new[key] = _get_bool(req, key)
    if "idle_timeout" in req:
        new["idle_timeout"] = _get_int(req, "idle_timeout", None, IDLE_MIN, IDLE_MAX)
    if "layout" in req:
        layout = _get_str(req, "layout")
        if layout not in _LAYOUTS:
            raise _bad("layout must be one of " + ", ".join(_LAYOUTS))
        new["layout"] = layout
    quiet = None
    if "add_presence" in req:
        quiet = not _get_bool(req, "add_presence")
        if quiet and not p.authed:
            raise VaultError("auth_required", "add_presence can be turned off only by an "
                             "admin logged in with the fob's password")
    if not new and quiet is None:
        raise _bad("give at least one of " + ", ".join(_SETTING_KEYS))

    def done():
        for key in new:
            setattr(s, key, new[key])
        if new:
            s.save()
        if quiet is not None:
            p.guard.set_add_presence(not quiet)
        out = settings_get(p, req)
        out["changed"] = list(new) + (["add_presence"] if quiet is not None else [])
        return out

    return (new, quiet), done


def settings_prompt(p, what):
    """A press for what weakens a check: privacy off (codes shown without a select),
    typing on (the fob becomes a USB keyboard at the next plug-in), adds without a press;
    None for the rest (stricter, or only how the fob looks)."""
    new, quiet = what
    s = _settings(p)
    weaker = []
    if new.get("privacy") is False and s.privacy:
        weaker.append("privacy off")
    if new.get("typing") is True and not s.typing:
        weaker.append("typing on")
    if quiet and p.guard.add_presence:
        weaker.append("adds without press")
    if weaker:
        return "Set " + ", ".join(weaker) + "?"
    if p.quiet_writes >= _QUIET_WRITES:
        raise VaultError("busy", "%d settings changes since the fob was plugged in; unplug "
                         "it and plug it in again for more" % _QUIET_WRITES)
    p.quiet_writes += 1
    return None
