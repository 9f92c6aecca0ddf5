"""Clock calibration on the host: the history file, the offset measurement, the estimator."""

import json
import math
import random

import pytest

from otpfob import calibration as cal
from otpfob.calibration import CalibrationError, History, estimate, measure_offset, predict

DAY = 86400.0
T0 = 1800000000.0


def ev(at, offset, aging=0, was_set=False, before=None, aging_before=None, error=0.005):
    e = {"at": T0 + at, "offset": offset, "aging": aging, "set": was_set, "error": error}
    if before is not None:
        e["before"] = {"at": T0 + at - 5, "offset": before}
    if aging_before is not None:
        e["aging_before"] = aging_before
    return e


# --- the estimator -----------------------------------------------------------------------------


def test_a_10_ppm_fob_gets_100_steps_of_aging():
    est = estimate([ev(0, 0.0, was_set=True), ev(DAY, 0.864)], aging=0, now=T0 + DAY)
    assert est["ppm"] == pytest.approx(10.0, abs=1e-9)
    assert est["new_aging"] == 100 and not est["clamped"]
    assert est["expected_ppm"] == pytest.approx(0.0, abs=1e-9)
    assert est["span"] == DAY and est["readings"] == 2


def test_a_slow_fob_gets_a_negative_offset():
    est = estimate([ev(0, 0.2), ev(2 * DAY, 0.2 - 2 * 0.2592)], aging=0)
    assert est["ppm"] == pytest.approx(-3.0) and est["new_aging"] == -30


def test_an_aging_offset_already_in_force_is_the_starting_point():
    # The crystal itself is 10 ppm fast; 30 steps already take 3 ppm off, 7 ppm remain.
    events = [ev(0, 0.0, aging=30, was_set=True), ev(DAY, 7e-6 * DAY, aging=30)]
    est = estimate(events, now=T0 + DAY)
    assert est["aging"] == 30 and est["ppm"] == pytest.approx(7.0)
    assert est["native_ppm"] == pytest.approx(10.0)
    assert est["new_aging"] == 100


def test_readings_under_an_earlier_offset_are_not_used():
    # Trimmed from 0 to 100 half a day ago: the day before does not count any more.
    events = [
        ev(0, 0.0, was_set=True),
        ev(DAY, 0.864),
        ev(DAY, 0.864, aging=100, aging_before=0),
        ev(1.5 * DAY, 0.8645, aging=100),
    ]
    with pytest.raises(CalibrationError) as exc:
        estimate(events, aging=100, now=T0 + 1.5 * DAY)
    assert "span only 12 hours" in str(exc.value)
    # It is ready once the readings since the trim span a day.
    assert exc.value.after == pytest.approx(T0 + 2 * DAY)
    assert "after 2027-01-17 08:00 UTC" in str(exc.value)
    later = events + [ev(2 * DAY, 0.8649, aging=100)]
    est = estimate(later, aging=100)
    assert est["ppm"] == pytest.approx(0.0104, abs=0.001) and est["span"] == DAY
    assert est["new_aging"] == 100 and est["readings"] == 3


def test_readings_less_than_a_day_apart_are_refused_with_a_date():
    with pytest.raises(CalibrationError) as exc:
        estimate([ev(0, 0.0, was_set=True), ev(20 * 3600, 0.72)], now=T0 + 20 * 3600)
    msg = str(exc.value)
    assert "span only 20 hours" in msg and "run `otpfob time show` again after" in msg
    assert exc.value.after == pytest.approx(T0 + DAY)


def test_too_few_readings_are_refused():
    with pytest.raises(CalibrationError, match="no clock readings"):
        estimate([], aging=0, now=T0)
    with pytest.raises(CalibrationError, match="only one clock reading") as exc:
        estimate([ev(0, 0.1, was_set=True)], now=T0 + 3 * DAY)
    # A single old reading: one more reading now is enough.
    assert exc.value.after == T0 + 3 * DAY


def test_a_clock_not_set_at_a_reading_ends_the_stretch():
    events = [ev(0, 0.0, was_set=True), ev(DAY / 2, None), ev(DAY, 0.864)]
    with pytest.raises(CalibrationError, match="only one clock reading"):
        estimate(events, now=T0 + DAY)


@pytest.mark.parametrize(
    "aging, ppm, expected", [(0, 40.0, 127), (0, -30.0, -128), (100, 2.9, 127), (-120, -1.0, -128)]
)
def test_the_new_offset_is_clamped_to_the_register(aging, ppm, expected):
    events = [ev(0, 0.0, aging=aging, was_set=True), ev(DAY, ppm * 1e-6 * DAY, aging=aging)]
    est = estimate(events)
    assert est["new_aging"] == expected and est["clamped"]
    # What the register cannot take is left over, with the right sign.
    assert est["expected_ppm"] == pytest.approx(ppm - 0.1 * (expected - aging))
    assert est["expected_ppm"] * ppm > 0


def test_a_set_in_between_is_accounted_for():
    # 10 ppm: 12 h then set (0.432 s off just before), 12 h more. Neither stretch is a day,
    # both together are, and the set's jump back to zero is not read as drift.
    events = [
        ev(0, 0.01, was_set=True),
        ev(DAY / 2, 0.0, was_set=True, before=0.442),
        ev(DAY + 10, 0.4321),
    ]
    est = estimate(events, now=T0 + DAY)
    assert est["segments"] == 2 and est["span"] == pytest.approx(DAY + 5)
    assert est["ppm"] == pytest.approx(10.0, abs=0.01)
    assert est["new_aging"] == 100


def test_a_set_without_a_reading_before_it_splits_the_history():
    events = [ev(0, 0.0, was_set=True), ev(DAY / 2, 0.0, was_set=True), ev(DAY, 0.432)]
    with pytest.raises(CalibrationError, match="12 hours"):
        estimate(events, now=T0 + DAY)


def test_measuring_noise_averages_out_over_many_readings():
    rng = random.Random(5)
    events = [ev(0, 0.0, was_set=True)]
    events += [ev(h * 3600, 10e-6 * h * 3600 + rng.uniform(-0.01, 0.01)) for h in range(1, 49)]
    est = estimate(events)
    assert est["ppm"] == pytest.approx(10.0, abs=0.1) and est["new_aging"] == 100


def test_rounding_goes_half_away_from_zero():
    assert [cal._step_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49)] == [1, 2, 3, -1, -3, 0]


def test_predict_extrapolates_from_the_last_reading():
    events = [ev(0, 0.0, was_set=True), ev(DAY, 0.864)]
    p = predict(events, now=T0 + 2 * DAY)
    assert p["ppm"] == pytest.approx(10.0) and p["since"] == DAY
    assert p["offset"] == pytest.approx(1.728) and p["drift"] == pytest.approx(0.864)
    assert predict([], now=T0) is None
    short = predict([ev(0, 0.0, was_set=True), ev(3600, 0.036)], now=T0 + 7200)
    assert short["ppm"] is None and short["offset"] is None and short["offset_then"] == 0.036


def test_predict_converts_a_rate_measured_under_another_offset():
    # Measured 10 ppm with no offset; trimmed by 60 steps since (by hand): 4 ppm remain.
    events = [
        ev(0, 0.0, was_set=True),
        ev(DAY, 0.864),
        ev(DAY + 10, 0.8641, aging=60, aging_before=0),
    ]
    p = predict(events, now=T0 + 2 * DAY + 10)
    assert p["ppm"] == pytest.approx(4.0) and p["drift"] == pytest.approx(0.3456)
    assert p["offset"] == pytest.approx(0.8641 + 0.3456)


# --- the history file --------------------------------------------------------------------------


def test_data_dir_per_platform(tmp_path):
    home = tmp_path
    assert cal.data_dir({"OTPFOB_HOME": "/x/y"}, "linux", home) == cal.Path("/x/y")
    assert cal.data_dir({}, "linux", home) == home / ".local/share/otpfob"
    assert cal.data_dir({"XDG_DATA_HOME": "/d"}, "linux", home) == cal.Path("/d/otpfob")
    assert cal.data_dir({"XDG_DATA_HOME": "rel"}, "linux", home) == home / ".local/share/otpfob"
    assert cal.data_dir({}, "darwin", home) == home / "Library/Application Support/otpfob"
    assert cal.data_dir({"APPDATA": "C:/AD"}, "win32", home) == cal.Path("C:/AD/otpfob")


def test_history_keeps_readings_per_serial_in_time_order(tmp_path):
    path = tmp_path / "sub" / "clock-history.json"
    h = History(path)
    assert h.events("a") == []
    h.record("a", ev(10, 0.1))
    h.record("b", ev(5, 0.2))
    h.record("a", ev(3, 0.3))
    again = History(path)
    assert [e["offset"] for e in again.events("a")] == [0.3, 0.1]
    assert [e["offset"] for e in again.events("b")] == [0.2]
    assert not (tmp_path / "sub" / "clock-history.json.tmp").exists()


def test_history_is_capped(tmp_path):
    h = History(tmp_path / "h.json")
    for i in range(cal.MAX_EVENTS + 5):
        h.record("a", ev(i, 0.0))
    events = History(tmp_path / "h.json").events("a")
    assert len(events) == cal.MAX_EVENTS and events[0]["at"] == T0 + 5


def test_a_damaged_history_is_a_clear_error_and_is_not_overwritten(tmp_path):
    path = tmp_path / "h.json"
    path.write_text("{not json")
    with pytest.raises(CalibrationError, match="cannot read the clock history"):
        History(path).events("a")
    with pytest.raises(CalibrationError):
        History(path).record("a", ev(0, 0.0))
    assert path.read_text() == "{not json"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(CalibrationError, match="not in the expected format"):
        History(path).events("a")


def test_no_serial_no_history(tmp_path):
    with pytest.raises(CalibrationError, match="no serial"):
        History(tmp_path / "h.json").record("", ev(0, 0.0))


# --- measuring the offset against a simulated fob --------------------------------------------


class VirtualFob:
    """A fob whose clock is `offset` ahead, answering once per main-loop pass."""

    def __init__(self, offset, loop=0.02, wire=0.0005, seed=1, valid=True):
        self.t = 1000.0  # laptop time (virtual)
        self.offset = offset
        self.loop = loop
        self.wire = wire
        self.phase = random.Random(seed).random() * loop
        self.valid = valid
        self.requests = 0

    def clock(self):
        return self.t

    def sleep(self, d):
        self.t += max(0.0, d)

    def time_get(self):
        self.requests += 1
        arrive = self.t + self.wire
        # The next pass of the fob's loop after the request arrives.
        k = math.ceil((arrive - self.phase) / self.loop)
        proc = self.phase + k * self.loop
        self.t = proc + self.wire
        if not self.valid:
            return {"time": None, "valid": False, "clock": "power_lost"}
        return {"time": math.floor(proc + self.offset), "valid": True, "clock": "ok"}


@pytest.mark.parametrize("offset", [0.0, 0.3141, -0.864, 42.5, -0.0099])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_measurement_finds_a_sub_second_offset_within_its_stated_error(offset, seed):
    fob = VirtualFob(offset, seed=seed)
    m = measure_offset(fob.time_get, ticks=3, clock=fob.clock, sleep=fob.sleep)
    assert abs(m.offset - offset) <= m.error + 1e-9
    # A loop of 20 ms: the offset is pinned to well within a loop period.
    assert m.error <= 0.015 and m.ticks == 4
    # Four ticks take about four seconds and a few dozen requests, not a flood.
    assert fob.t - 1000.0 < 5.0 and fob.requests < 150


def test_measurement_of_a_stopped_clock_falls_back_to_a_second():
    fob = VirtualFob(0.25)
    fob.time_get = lambda: {"time": 1234, "valid": True, "clock": "ok"}
    fob_clock = [0.0]

    def clock():
        fob_clock[0] += 0.01
        return fob_clock[0]

    m = measure_offset(fob.time_get, ticks=2, clock=clock, sleep=lambda d: None)
    assert m.ticks == 0 and m.error >= 0.5


def test_measurement_of_an_unset_clock_gives_no_offset():
    fob = VirtualFob(0.0, valid=False)
    m = measure_offset(fob.time_get, clock=fob.clock, sleep=fob.sleep)
    assert m.offset is None and not m.valid and fob.requests == 1


class _VirtualLink:
    """A fob behind a link of fixed round trip, on a virtual clock: time_get takes the
    round trip; time_set is heard half a round trip after it is sent."""

    def __init__(self, now, rtt):
        self.now, self.rtt, self.heard = now, rtt, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def time_get(self):
        self.now += self.rtt
        return {"time": int(self.now), "valid": True}

    def time_set(self, epoch, force=False):
        self.heard.append((epoch, self.now + self.rtt / 2, force))
        self.now += self.rtt
        return {"time": epoch}


@pytest.mark.parametrize("start, rtt", [(1800000000.2, 0.04), (1800000000.97, 0.01), (5.5, 0.3)])
def test_timed_set_reaches_the_fob_as_the_second_turns(start, rtt):
    link = _VirtualLink(start, rtt)
    target, half = cal.timed_set(link, clock=link.clock, sleep=link.sleep)
    assert half == pytest.approx(rtt / 2)
    [(epoch, heard_at, force)] = link.heard
    assert epoch == target and force is False
    assert heard_at == pytest.approx(target)  # the fob's new second starts in step
    assert target - start >= 0.05  # never a second already gone


def test_timed_set_passes_force_on():
    link = _VirtualLink(100.0, 0.02)
    cal.timed_set(link, force=True, clock=link.clock, sleep=link.sleep)
    assert link.heard[0][2] is True
