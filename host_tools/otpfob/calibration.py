"""Keeping a fob's clock right: measure its offset, keep a history, trim the DS3231's rate.

Every `otpfob time set` and `time show` measures the fob's clock against this computer's
and appends the reading to a small JSON history per fob serial number. A fob whose crystal
runs fast gains time at a steady rate; readings at least a day apart give that rate in
parts per million, and the DS3231's aging offset register trims it: one step changes the
oscillator by about 0.1 ppm, and a positive offset slows it down (datasheet "Aging Offset").

Only the standard library is used, so `otpfob info` stays quick to start.
"""

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import OtpfobError

AGING_PPM_PER_STEP = 0.1  # datasheet: about 0.1 ppm per step at 25 C
AGING_MIN = -128  # the register is a signed byte
AGING_MAX = 127
MIN_SPAN = 86400.0  # readings this far apart (seconds) before a drift estimate
MAX_EVENTS = 400  # per fob; the oldest go first
HISTORY_FILE = "clock-history.json"
HISTORY_VERSION = 1


class CalibrationError(OtpfobError):
    """No estimate can be made (too few readings, too short a span); `after` says when."""

    def __init__(self, message, after=None):
        OtpfobError.__init__(self, message)
        self.after = after


# --- where the history lives ---------------------------------------------------------------


def data_dir(environ=None, platform=None, home=None):
    """The user's data folder for otpfob; OTPFOB_HOME overrides it."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if env.get("OTPFOB_HOME"):
        return Path(env["OTPFOB_HOME"])
    home = Path.home() if home is None else Path(home)
    if platform.startswith("win"):
        base = env.get("APPDATA")
        return Path(base) / "otpfob" if base else home / "AppData" / "Roaming" / "otpfob"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "otpfob"
    base = env.get("XDG_DATA_HOME")
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    if base and os.path.isabs(base):
        return Path(base) / "otpfob"
    return home / ".local" / "share" / "otpfob"


class History:
    """The clock readings of every fob seen from this computer, by serial number."""

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else data_dir() / HISTORY_FILE
        self._data = None

    def _load(self):
        if self._data is not None:
            return self._data
        data = {"version": HISTORY_VERSION, "fobs": {}}
        try:
            with open(self.path, encoding="utf-8") as f:
                loaded = json.load(f)
        except FileNotFoundError:
            loaded = None
        except (OSError, ValueError) as exc:
            raise CalibrationError(
                "cannot read the clock history %s (%s)" % (self.path, exc)
            ) from None
        if loaded is not None:
            if not isinstance(loaded, dict) or not isinstance(loaded.get("fobs"), dict):
                raise CalibrationError(
                    "the clock history %s is not in the expected format" % self.path
                )
            data = loaded
        self._data = data
        return data

    def events(self, serial):
        """The fob's events, oldest first (a copy)."""
        fob = self._load()["fobs"].get(serial) or {}
        return [dict(e) for e in fob.get("events", []) if isinstance(e, dict)]

    def record(self, serial, event):
        """Append one event and write the file (atomically: a crash leaves the old one)."""
        if not serial:
            raise CalibrationError(
                "the fob reports no serial number, so its clock history cannot be kept"
            )
        data = self._load()
        fob = data["fobs"].setdefault(serial, {"events": []})
        events = fob.setdefault("events", [])
        events.append(event)
        events.sort(key=lambda e: e.get("at", 0))
        del events[:-MAX_EVENTS]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.path)
        return event


# --- measuring the offset ------------------------------------------------------------------


class Measurement:
    """The fob's clock minus this computer's, from the times its seconds were seen to tick.

    `offset` is in seconds (positive: the fob is ahead), None when the fob's clock is not
    valid; `error` is the half width of the interval the offset is known to lie in.
    """

    def __init__(self, reply, offset, error, at, round_trip, ticks, requests):
        self.reply = reply
        self.offset = offset
        self.error = error
        self.at = at
        self.round_trip = round_trip
        self.ticks = ticks
        self.requests = requests

    @property
    def valid(self):
        return self.offset is not None

    def point(self):
        return {
            "at": round(self.at, 3),
            "offset": _round(self.offset, 4),
            "error": _round(self.error, 4),
        }


def _round(v, digits):
    return None if v is None else round(v, digits)


def timed_set(
    client: Any,
    force: bool = False,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], object] | None = None,
    send: Callable[[int], object] | None = None,
) -> tuple[int, float]:
    """Set the fob's clock so that it ticks in step with this computer's: the DS3231
    restarts its second when the time is written, so the request is timed to reach the fob
    as this computer's clock turns to a whole second, half the median of three round trips
    early. Returns (the second set, half the round trip). `otpfob time set` and `otpfob
    fleet` both set clocks with it. `send(second)`: the request that carries the time,
    instead of time_set (a fresh fob's setup)."""
    # Looked up at each call: tests move this computer's clock by replacing time.time.
    clock = clock or time.time
    sleep = sleep or time.sleep
    rtts = []
    for _ in range(3):
        t0 = clock()
        client.time_get()
        rtts.append(clock() - t0)
    half = sorted(rtts)[1] / 2
    now = clock()
    target = int(now + half) + 1
    if target - half - now < 0.05:  # too close to sleep accurately: the next second
        target += 1
    sleep(max(0.0, target - half - clock()))
    if send is not None:
        send(target)
    elif force:
        client.time_set(target, force=True)
    else:
        client.time_set(target)
    return target, half


def measure_offset(time_get, ticks=2, clock=None, sleep=None, first_window=2.5):
    """Measure the fob's clock offset to within a few milliseconds.

    The fob reports whole seconds, so one reading places its clock only within a second.
    Each reply was produced at some moment between sending the request (s) and receiving
    the reply (r); a reply of second t therefore says offset > t - r and offset < t + 1 - s.
    The bound is tight only for replies just before and just after the fob's second
    changes, so requests are sent back to back around each tick: the first one found by
    polling, then `ticks` more, aimed at where the next tick is due. The bounds of those
    later ticks are intersected (the first tick is left out: a fob that was not polling
    its RTC closely, e.g. just after a jump of the simulator's time, may see it late).
    `time_get` is a callable returning the fob's time_get reply.
    """
    clock = clock or time.time
    sleep = sleep or time.sleep
    state = {"requests": 0, "rtt": None}
    rtts = []

    def ask():
        s = clock()
        reply = time_get()
        r = clock()
        state["requests"] += 1
        rtt = r - s
        rtts.append(rtt)
        if state["rtt"] is None or rtt < state["rtt"]:
            state["rtt"] = rtt
        return s, r, reply

    def until_tick(deadline, gap=0.0):
        """Poll until the fob's second changes; (old, new) readings or None."""
        prev = ask()
        if prev[2].get("time") is None:
            return prev, None
        while True:
            if gap > 0:
                sleep(gap)
            cur = ask()
            if cur[2].get("time") is None:
                return cur, None
            if cur[2]["time"] != prev[2]["time"]:
                return prev, cur
            if cur[1] > deadline:
                return cur, False
            prev = cur

    start = clock()
    old, new = until_tick(start + first_window)
    if new is None:
        return Measurement(old[2], None, None, old[1], state["rtt"], 0, state["requests"])
    if new is False:
        # The fob's second never changed: its oscillator is stopped, or the fob is stuck.
        # The reading still places its clock within a second.
        s, r, reply = old
        mid = (s + r) / 2
        return Measurement(
            reply,
            reply["time"] + 0.5 - mid,
            0.5 + (r - s) / 2,
            r,
            state["rtt"],
            0,
            state["requests"],
        )
    brackets = [_bracket(old, new)]
    last = new
    # A fob answers once per pass of its main loop, so a request sent the moment the last
    # reply came waits a whole pass, and each tick would be bracketed by two passes and a
    # bit. Sent most of a typical round trip later, a request still makes the next pass
    # but starts nearer to it: the bracket shrinks towards one pass.
    typical = sorted(rtts)[len(rtts) // 2]
    gap = 0.75 * typical
    for _ in range(ticks):
        lo, hi = brackets[-1]
        # The fob's second N began at laptop time N - offset; the next one a second later.
        # Start early enough to be sure to see the fob answer the old second first.
        next_second = last[2]["time"] + 1
        guard = 0.08 + 2 * (state["rtt"] or 0) + (hi - lo)
        wake = next_second - hi - guard
        delay = wake - clock()
        if delay > 0:
            sleep(delay)
        old, new = until_tick(clock() + 1.5 + guard, gap)
        if new is None:
            return Measurement(
                old[2], None, None, old[1], state["rtt"], len(brackets), state["requests"]
            )
        if new is False:
            break
        brackets.append(_bracket(old, new))
        last = new
    offset, error = _combine(brackets[1:] if len(brackets) > 1 else brackets)
    return Measurement(
        last[2], offset, error, last[1], state["rtt"], len(brackets), state["requests"]
    )


def _bracket(old, new):
    """Offset bounds from the last reply of one second and the first of the next."""
    n = new[2]["time"]
    # The fob's second n began after the old request was sent and before the new reply
    # came back: n - offset lies in (s_old, r_new).
    return n - new[1], n - old[0]


def _combine(brackets):
    lo = max(b[0] for b in brackets)
    hi = min(b[1] for b in brackets)
    if lo <= hi:
        return (lo + hi) / 2, (hi - lo) / 2
    # Disagreeing brackets (a reply delayed on its way, a busy fob): take the middle of the
    # middles, with an error that covers all of them.
    mids = sorted((a + b) / 2 for a, b in brackets)
    k = len(mids)
    mid = mids[k // 2] if k % 2 else (mids[k // 2 - 1] + mids[k // 2]) / 2
    error = max(max(abs(a - mid), abs(b - mid)) for a, b in brackets)
    return mid, error


# --- estimating the drift ------------------------------------------------------------------


class Segment:
    """A stretch of readings with the clock neither set nor retrimmed in between."""

    def __init__(self, aging):
        self.aging = aging
        self.points = []

    def add(self, at, offset):
        self.points.append((float(at), float(offset)))

    @property
    def span(self):
        if len(self.points) < 2:
            return 0.0
        return self.points[-1][0] - self.points[0][0]


def _aging_of(value):
    # Readings from firmware that does not report the offset: the chip's power-on value.
    return 0 if value is None else int(value)


def segments(events):
    """Split a fob's events into stretches in which its clock ran undisturbed.

    A set starts a new stretch; its `before` reading (the offset just before the set)
    ends the previous one. A change of the aging offset starts a new stretch too, and the
    reading taken just before it ends the old one (the offset itself does not jump). An
    event without a valid offset (clock not set) ends the stretch.
    """
    out = []
    cur = None
    for e in sorted(events, key=lambda e: e.get("at", 0)):
        at = e.get("at")
        if at is None:
            continue
        aging = _aging_of(e.get("aging"))
        aging_before = _aging_of(e.get("aging_before", e.get("aging")))
        was_set = bool(e.get("set"))
        if was_set or aging_before != aging:
            before = e.get("before")
            if cur is not None and cur.aging == aging_before:
                if isinstance(before, dict) and before.get("offset") is not None:
                    cur.add(before.get("at", at), before["offset"])
                elif not was_set and e.get("offset") is not None:
                    cur.add(at, e["offset"])
            cur = None
        offset = e.get("offset")
        if offset is None:
            cur = None
            continue
        if cur is not None and cur.aging != aging:
            # Retrimmed by some other means in between: the stretch cannot be followed.
            cur = None
        if cur is None:
            cur = Segment(aging)
            out.append(cur)
        cur.add(at, offset)
    return out


def _pooled_slope(segs, to_native=False):
    """Least-squares rate (s/s) common to all segments, each with its own starting offset.

    With two readings per segment this is the plain difference quotient; a set between
    segments is accounted for by each segment having its own intercept. With `to_native`
    each segment's rate is first corrected by its aging offset, giving the crystal's own.
    """
    sxx = 0.0
    sxy = 0.0
    for s in segs:
        if len(s.points) < 2:
            continue
        tm = sum(p[0] for p in s.points) / len(s.points)
        om = sum(p[1] for p in s.points) / len(s.points)
        extra = AGING_PPM_PER_STEP * 1e-6 * s.aging if to_native else 0.0
        for t, o in s.points:
            dt = t - tm
            sxx += dt * dt
            sxy += dt * (o - om + extra * dt)
    if sxx <= 0:
        return None
    return sxy / sxx


def _step_round(x):
    # Half away from zero: Python's round() would send 0.5 and 2.5 to the even neighbour.
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def _utc(epoch):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def estimate(events, aging=None, min_span=MIN_SPAN, now=None):
    """The drift of a fob's clock under the aging offset in force, and the offset to write.

    `aging` is the offset in force now (the last event's when None). Only readings taken
    under that offset are used: the step size is only "about 0.1 ppm", so the new value is
    the current one plus a correction, never computed from a rate measured under another.
    Returns a dict: ppm (the clock's rate now: positive gains time), aging, new_aging,
    clamped, native_ppm (the crystal's rate with no offset), span (seconds covered),
    readings, expected_ppm (what should remain after the new offset), error_ppm.
    Raises CalibrationError when the readings are too few or too close together.
    """
    now = time.time() if now is None else now
    if aging is None:
        for e in reversed(events):
            if e.get("aging") is not None:
                aging = e["aging"]
                break
    aging = _aging_of(aging)
    segs = [s for s in segments(events) if s.aging == aging]
    usable = [s for s in segs if len(s.points) >= 2]
    span = sum(s.span for s in usable)
    readings = sum(len(s.points) for s in usable)
    if span < min_span:
        after = _ready_at(segs, span, min_span, now)
        if not segs:
            why = (
                "there are no clock readings of this fob"
                + (" since its aging offset was set to %d" % aging if events else "")
                + " yet"
            )
        elif not usable:
            why = "there is only one clock reading since the clock was last set or trimmed"
        else:
            why = (
                "the clock readings since it was last set or trimmed span only %s"
                % duration_text(span)
            )
        raise CalibrationError(
            "%s; a drift estimate needs readings at least %s apart: run "
            "`otpfob time show` again after %s"
            % (why, duration_text(min_span), _utc(math.ceil(after / 60) * 60)),
            after=after,
        )
    rate = _pooled_slope(usable)
    ppm = rate * 1e6
    wanted = aging + _step_round(ppm / AGING_PPM_PER_STEP)
    new = max(AGING_MIN, min(AGING_MAX, wanted))
    errors = [e.get("error") for e in events if isinstance(e.get("error"), (int, float))]
    typical = sorted(errors)[len(errors) // 2] if errors else 0.0
    return {
        "ppm": ppm,
        "aging": aging,
        "new_aging": new,
        "clamped": new != wanted,
        "native_ppm": ppm + AGING_PPM_PER_STEP * aging,
        "span": span,
        "readings": readings,
        "segments": len(usable),
        "expected_ppm": ppm - AGING_PPM_PER_STEP * (new - aging),
        # Two readings each off by the typical measuring error, over the whole span.
        "error_ppm": 2 * typical / span * 1e6,
    }


def _ready_at(segs, span, min_span, now):
    """When one more reading would bring the usable span to min_span."""
    if not segs:
        return now + min_span
    last = segs[-1]
    first = last.points[0][0]
    return max(now, first + min_span - (span - last.span))


def duration_text(seconds):
    seconds = abs(seconds)
    if seconds >= 86400 * 1.5:
        return "%.1f days" % (seconds / 86400)
    if seconds >= 86400:
        return "a day" if seconds < 86400 * 1.05 else "%.1f days" % (seconds / 86400)
    if seconds >= 5400:
        return "%.0f hours" % (seconds / 3600)
    if seconds >= 90:
        return "%.0f minutes" % (seconds / 60)
    return "%.0f seconds" % seconds


def drift_ppm(events, aging=None, min_span=MIN_SPAN):
    """The clock's rate (ppm) under `aging`, or None when the history cannot tell.

    From readings under that offset when they span long enough, else from the crystal's
    own rate measured under other offsets, corrected by the step size.
    """
    try:
        return estimate(events, aging, min_span, now=0)["ppm"]
    except CalibrationError:
        pass
    if aging is None:
        for e in reversed(events):
            if e.get("aging") is not None:
                aging = e["aging"]
                break
    aging = _aging_of(aging)
    usable = [s for s in segments(events) if len(s.points) >= 2]
    if sum(s.span for s in usable) < min_span:
        return None
    native = _pooled_slope(usable, to_native=True)
    if native is None:
        return None
    return native * 1e6 - AGING_PPM_PER_STEP * aging


def predict(events, now=None, aging=None):
    """The estimated offset of the fob's clock now, from its last reading and its drift.

    Returns None without any reading, else a dict: last_sync (laptop time of the last
    reading), offset_then, ppm (None when unknown), since (seconds), drift (ppm x since,
    None when the rate is unknown) and offset (estimated now, None when unknown).
    """
    now = time.time() if now is None else now
    last = None
    for e in sorted(events, key=lambda e: e.get("at", 0)):
        if e.get("at") is not None:
            last = e
    if last is None:
        return None
    if last.get("offset") is None:
        return {
            "last_sync": last["at"],
            "offset_then": None,
            "ppm": None,
            "since": now - last["at"],
            "drift": None,
            "offset": None,
        }
    ppm = drift_ppm(events, aging if aging is not None else last.get("aging"))
    since = now - last["at"]
    drift = None if ppm is None else ppm * 1e-6 * since
    return {
        "last_sync": last["at"],
        "offset_then": last["offset"],
        "ppm": ppm,
        "since": since,
        "drift": drift,
        "offset": None if drift is None else last["offset"] + drift,
    }


def event(kind, measurement, aging, was_set=False, before=None, aging_before=None):
    """A history entry for one reading (and what was changed at it)."""
    e = measurement.point()
    e["kind"] = kind
    e["set"] = bool(was_set)
    e["aging"] = aging
    if before is not None:
        e["before"] = before.point() if isinstance(before, Measurement) else before
    if aging_before is not None:
        e["aging_before"] = aging_before
    if measurement.round_trip is not None:
        e["rtt"] = round(measurement.round_trip, 4)
    return e
