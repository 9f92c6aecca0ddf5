# The clock's commands: time_set (the window a host may move it by without a press, and
# exact pressed sets) and the DS3231's aging offset. Loaded by fob/policy.py at the first
# such request, apart from fob/provision.py: an import of many accounts does not need it.
import time

from fob.args import get_bool as _get_bool
from fob.args import get_int as _get_int
from fob.vault import VaultError
from fob.wire import ACT, NEED_PRESS, WORK
from fob.wire import monotonic as _monotonic

from micropython import const

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
# The wait for the next second is passes of the loop (fob/wire.py's WORK) until this
# little is left, then one sleep: no pass waits long, and the set stays as exact.
_WAIT_SLEEP = 0.05
# The DS3231's aging offset register is a signed byte (datasheet "Aging Offset").
_AGING_MIN = const(-128)
_AGING_MAX = const(127)


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
    from fob.vault import join

    return join(p.vault.root, _MOVES_FILE)


def moves_used(p):
    """Milliseconds of the clock window used since the last pressed set; a damaged record
    counts as all of it (the next move then needs a press), a missing one as none."""
    import struct

    from fob.guard import read_checked

    fs = p.vault.fs
    path = _moves_path(p)
    if fs.size(path) is None:
        return 0
    data = read_checked(fs, path, 8)
    if data is not None and data[:4] == _MOVES_MAGIC:
        return struct.unpack("<I", data[4:])[0]
    return CLOCK_WINDOW * 1000


def _save_moves(p, used):
    import struct

    from fob.guard import write_checked

    write_checked(p.vault.fs, _moves_path(p), _MOVES_MAGIC + struct.pack("<I", used))


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
    now = p.now()
    used = moves_used(p)
    if now is None:
        move = None
        needs = NEED_PRESS
    else:
        fraction = getattr(p.clock, "fraction", None)
        move = (t - now) - (fraction() if fraction is not None else 0)
        # Without a press only a move that fits what is left of the window; going far
        # back (force) is never without one.
        needs = NEED_PRESS if force or used + max(int(abs(move) * 1000), _MOVE_MIN_MS) > \
            CLOCK_WINDOW * 1000 else 0
    came = _ns()

    def done(pressed):
        return WORK, work(pressed)

    def work(pressed):
        # The host's time plus what passed since its request came (the holder's press),
        # so a pressed set is as right as one answered at once.
        # Whole seconds and the fraction apart: a board's float cannot hold an epoch to
        # the millisecond.
        elapsed = (_ns() - came) / 1000000000
        whole = t + int(elapsed)
        fraction = elapsed - int(elapsed)
        if fraction > _SET_SLACK:
            # On to the next whole second: passes of the loop, then the last bit asleep.
            whole += 1
            while True:
                left = int(elapsed) + 1 - (_ns() - came) / 1000000000
                if left <= _WAIT_SLEEP:
                    break
                yield
            if left > 0:
                time.sleep(left)
        # The window is written before the clock, so a power cut between the two cannot
        # give a move for free; a pressed set fills it again.
        now_used = 0 if pressed else used + max(int(abs(move) * 1000), _MOVE_MIN_MS)
        try:
            _save_moves(p, now_used)
        except OSError:
            if not pressed:
                raise VaultError("io", "cannot record the clock move on flash; nothing was "
                                 "changed") from None
        try:
            p.clock.set(whole)
        except Exception as e:
            raise VaultError("io", "cannot set the clock (%s)" % type(e).__name__) from None
        g.see_time(whole, force=back > _BACK_FREE)
        out = p.time_reply()
        out["window_left"] = CLOCK_WINDOW - now_used // 1000
        return out

    return ACT, (t, move), done, needs


def time_prompt(p, what):
    t, move = what
    if move is None:
        return "Set clock to " + _date(t) + " UTC?"
    return "Clock " + _move_text(move) + "?"


def _read_aging(clock):
    if clock is None:
        raise VaultError("io", "this fob has no clock, so no aging offset")
    try:
        return clock.aging()
    except Exception as e:
        raise VaultError("io", "cannot read the aging offset (%s)" % type(e).__name__) \
            from None


def aging_get(p, req):
    return {"aging": _read_aging(p.clock)}


def aging_set(p, req):
    n = _get_int(req, "aging", None, _AGING_MIN, _AGING_MAX)
    clock = p.clock
    was = _read_aging(clock)
    if n == was:
        return {"aging": was, "was": was}
    return ACT, (was, n), lambda pressed: _write_aging(clock, n, was), NEED_PRESS


def aging_prompt(p, what):
    # The aging offset trims the clock's rate (about 0.1 ppm a step).
    return "Clock rate trim %d to %d?" % what


def _write_aging(clock, n, was):
    try:
        clock.set_aging(n)
    except Exception as e:
        raise VaultError("io", "cannot write the aging offset (%s)" % type(e).__name__) \
            from None
    now = _read_aging(clock)
    if now != n:
        raise VaultError("io", "the aging offset reads %d after writing %d" % (now, n))
    return {"aging": now, "was": was}
