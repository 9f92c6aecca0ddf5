"""The time group: show, set and calibrate the fob's clock."""

import time

import click

from .util import ExpectedError, clock_text, pass_state, utc


@click.group(name="time")
def time_group():
    """Show, set or calibrate the fob's clock (UTC).

    Example: otpfob time set
    """


def measure(client):
    """(time_get reply, laptop time at the middle of the round trip, round trip seconds)."""
    t0 = time.time()
    reply = client.time_get()
    t1 = time.time()
    return reply, (t0 + t1) / 2, t1 - t0


TICKS_HELP = "Fob second ticks to time after the first (more: finer reading, one second each)."


def measure_offset(client, ticks=2):
    """The fob's clock offset from this computer's, to a few milliseconds (calibration)."""
    from ..calibration import measure_offset as measure_ticks

    return measure_ticks(client.time_get, ticks=ticks)


def _drift_text(drift, error=None):
    if drift is None:
        return "unknown"
    text = "%+.3f s" % drift
    if error is not None:
        text += " \u00b1%.3f" % error
    return text + " (fob %s)" % (
        "ahead" if drift > 0.005 else "behind" if drift < -0.005 else "in step"
    )


def _history(state):
    """The local clock history (in OTPFOB_HOME, else the user's data folder)."""
    from ..calibration import History

    return History()


def _record(state, serial, event):
    """Append a reading to the fob's clock history; a failure only warns."""
    from ..calibration import CalibrationError

    try:
        _history(state).record(serial, event)
        return True
    except (CalibrationError, OSError) as exc:
        state.warn("clock reading not recorded: %s" % exc)
        return False


def _events(state, serial):
    from ..calibration import CalibrationError

    if not serial:
        return []
    try:
        return _history(state).events(serial)
    except CalibrationError as exc:
        state.warn(str(exc))
        return []


def _duration(seconds):
    from ..calibration import duration_text

    return duration_text(seconds)


def clock_estimate(state, serial, aging=None):
    """What the history says about the fob's clock now (for `info`), or None."""
    from ..calibration import predict

    events = _events(state, serial)
    return predict(events, now=time.time(), aging=aging) if events else None


def estimate_text(est):
    if est is None:
        return "unknown (no clock readings on this computer yet; `otpfob time show` takes one)"
    ago = _duration(est["since"]) + " ago"
    if est["offset_then"] is None:
        return "unknown (at the last reading, %s, the clock was not set)" % ago
    if est["ppm"] is None:
        return "unknown drift (last reading %s: %+.3f s; readings a day apart give the drift)" % (
            ago,
            est["offset_then"],
        )
    return "about %+.2f s now (%+.3f s at the last reading %s, %+.2f ppm since)" % (
        est["offset"],
        est["offset_then"],
        ago,
        est["ppm"],
    )


def _serial_and_aging(client):
    info = client.info()
    return info, info.get("serial") or "", info.get("aging")


@time_group.command(name="show")
@click.option("--ticks", type=click.IntRange(1, 20), default=2, show_default=True, help=TICKS_HELP)
@pass_state
def time_show(state, ticks):
    """Compare the fob's clock with this computer's (takes a few seconds).

    The reading is kept in this computer's clock history for the fob, which `otpfob time
    calibrate` and `otpfob info` use.

    Example: otpfob time show --json
    """
    from .. import calibration

    client = state.client()
    info, serial, aging = _serial_and_aging(client)
    m = measure_offset(client, ticks)
    reply = m.reply
    aging = reply.get("aging", aging)
    fob_time = reply.get("time")
    recorded = False
    if m.valid:
        recorded = _record(state, serial, calibration.event("show", m, aging))
    est = (
        calibration.predict(_events(state, serial), now=time.time(), aging=aging)
        if recorded
        else None
    )
    ppm = est["ppm"] if est else None
    if state.json:
        state.emit_json(
            {
                "fob": fob_time,
                "laptop": round(time.time(), 3),
                "drift": None if m.offset is None else round(m.offset, 4),
                "error": None if m.error is None else round(m.error, 4),
                "valid": bool(reply.get("valid")),
                "clock": reply.get("clock"),
                "round_trip": None if m.round_trip is None else round(m.round_trip, 4),
                "serial": serial,
                "aging": aging,
                "recorded": recorded,
                "ppm": None if ppm is None else round(ppm, 3),
            }
        )
        return
    click.echo(
        "fob:    %s" % (utc(fob_time) if fob_time is not None else clock_text(reply.get("clock")))
    )
    click.echo("laptop: %s" % utc(int(time.time())))
    if fob_time is not None:
        click.echo("drift:  %s" % _drift_text(m.offset, m.error))
        if ppm is not None:
            click.echo("rate:   %+.2f ppm (aging offset %s)" % (ppm, aging))
    elif reply.get("clock") != "no_answer":
        click.echo("The fob shows no codes until its clock is set: otpfob time set")


@time_group.command(name="set")
@click.option("--ticks", type=click.IntRange(1, 20), default=2, show_default=True, help=TICKS_HELP)
@click.option(
    "-f",
    "--force",
    is_flag=True,
    help="Allow setting the clock more than 30 s before the latest time the fob "
    "has seen (also needs a press on the fob).",
)
@pass_state
def time_set(state, ticks, force):
    """Set the fob's clock from this computer's clock.

    The DS3231 restarts its second when the time is written, so the request is timed to
    reach the fob as this computer's clock turns to a whole second (half a measured round
    trip early); the fob then ticks in step with this computer. The offset just after (and
    just before, when the fob has readings in the history) is measured and kept in the
    fob's clock history.

    Example: otpfob time set
    """
    from .. import calibration

    client = state.client()
    info, serial, aging = _serial_and_aging(client)
    # The offset just before the set ends the stretch of readings since the last one; it
    # is worth its seconds only when there is such a stretch in this computer's history.
    before = None
    if info.get("time") is not None and any(
        e.get("offset") is not None for e in _events(state, serial)
    ):
        before = measure_offset(client, ticks)
        if not before.valid:
            before = None
    from ..client import FobError

    try:
        target, half = calibration.timed_set(client, force=force)
    except FobError as e:
        if e.code == "time_backwards":
            raise ExpectedError(
                "this computer's clock is behind the latest time the fob has "
                "seen (%s); check this computer's clock, or add --force (-f)" % e.message
            ) from None
        raise
    after = measure_offset(client, ticks)
    check = after.reply
    aging = check.get("aging", aging)
    recorded = False
    if after.valid:
        recorded = _record(
            state, serial, calibration.event("set", after, aging, True, before=before)
        )
    drift = after.offset
    if state.json:
        state.emit_json(
            {
                "set": target,
                "fob": check.get("time"),
                "drift": None if drift is None else round(drift, 4),
                "error": None if after.error is None else round(after.error, 4),
                "before": None if before is None else round(before.offset, 4),
                "round_trip": round(2 * half, 4),
                "valid": bool(check.get("valid")),
                "serial": serial,
                "aging": aging,
                "recorded": recorded,
            }
        )
        return
    if before is not None:
        state.note("The fob's clock was off by %s." % _drift_text(before.offset, before.error))
    state.note(
        "Set the fob's clock to %s (round trip %.1f ms); drift now %s."
        % (utc(target), 2000 * half, _drift_text(drift, after.error))
    )


@time_group.command(name="calibrate")
@click.option("--dry-run", is_flag=True, help="Show the new aging offset; write nothing.")
@click.option("--ticks", type=click.IntRange(1, 20), default=2, show_default=True, help=TICKS_HELP)
@pass_state
def time_calibrate(state, dry_run, ticks):
    """Trim the fob's clock rate from readings at least a day apart.

    Takes a reading now, estimates how fast the fob's clock gains or loses time (in ppm)
    from its history on this computer, and writes the DS3231's aging offset to cancel it
    (one step is about 0.1 ppm). Run `otpfob time set` afterwards if the fob is off.

    Example: otpfob time calibrate --dry-run
    """
    from .. import calibration
    from ..calibration import CalibrationError

    client = state.client()
    info, serial, aging = _serial_and_aging(client)
    if not serial:
        raise ExpectedError("the fob reports no serial number, so it has no clock history")
    if "aging_set" not in (info.get("capabilities") or ()):
        raise ExpectedError(
            "this fob's firmware cannot trim its clock (no aging_set "
            "command); update the firmware with `otpfob deploy`"
        )
    if aging is None:
        aging = client.aging_get()["aging"]
    m = measure_offset(client, ticks)
    if not m.valid:
        raise ExpectedError(
            "the fob's clock is not set (%s); run `otpfob time set`, then "
            "`otpfob time show` again a day later" % m.reply.get("clock")
        )
    aging = m.reply.get("aging", aging)
    events = _events(state, serial)
    reading = calibration.event("show", m, aging)
    try:
        est = calibration.estimate(events + [reading], aging=aging, now=time.time())
    except CalibrationError as exc:
        _record(state, serial, reading)
        raise ExpectedError(str(exc)) from None
    new = est["new_aging"]
    written = False
    if not dry_run and new != aging:
        reply = client.aging_set(new)
        new = reply.get("aging", new)
        written = True
        _record(state, serial, calibration.event("calibrate", m, new, aging_before=aging))
    else:
        _record(state, serial, reading)
    result = {
        "serial": serial,
        "ppm": round(est["ppm"], 3),
        "native_ppm": round(est["native_ppm"], 3),
        "error_ppm": round(est["error_ppm"], 3),
        "span": round(est["span"], 1),
        "readings": est["readings"],
        "aging_before": aging,
        "aging": new,
        "clamped": est["clamped"],
        "expected_ppm": round(est["expected_ppm"], 3),
        "written": written,
        "dry_run": bool(dry_run),
        "offset": round(m.offset, 4),
        "error": round(m.error, 4),
    }
    if state.json:
        state.emit_json(result)
        return
    state.note(
        "The fob's clock %s %.2f ppm (\u00b1%.2f) over %s of readings (%d), with "
        "aging offset %d."
        % (
            "gains" if est["ppm"] >= 0 else "loses",
            abs(est["ppm"]),
            est["error_ppm"],
            _duration(est["span"]),
            est["readings"],
            aging,
        )
    )
    if est["clamped"]:
        state.warn(
            "the drift is beyond what the aging offset can trim (%d to %d); the "
            "offset goes to its limit" % (calibration.AGING_MIN, calibration.AGING_MAX)
        )
    if new == aging:
        state.note("The aging offset %d is already the best one; nothing to change." % aging)
    elif dry_run:
        state.note(
            "Would set the aging offset from %d to %d (about %+.2f ppm left); dry run, "
            "nothing written." % (aging, new, est["expected_ppm"])
        )
    else:
        state.note(
            "Set the aging offset from %d to %d; expect about %+.2f ppm from now on. "
            "The clock is %s now: run `otpfob time set` to correct it."
            % (aging, new, est["expected_ppm"], _drift_text(m.offset, m.error))
        )
