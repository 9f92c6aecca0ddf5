"""Clock over adafruit_ds3231 and the simulator's DS3231 model."""

import calendar
import datetime
import random

import driver_shims  # noqa: E402
import pytest
from hypothesis import given
from hypothesis import strategies as st

driver_shims.install()

from fob import clock as clock_mod  # noqa: E402
from fob import version  # noqa: E402
from otpfob.sim.ds3231 import DS3231  # noqa: E402
from otpfob.sim.i2c import I2C, Bus  # noqa: E402
from otpfob.sim.world import World  # noqa: E402

T0 = version.BUILD_EPOCH + 12345


class Rig:
    def __init__(self, epoch=T0, phase=0.0):
        self.real = [100.0]
        self.world = World(
            epoch=epoch + phase,
            real_clock=lambda: self.real[0],
            real_sleep=lambda s: None,
            wall_clock=lambda: epoch,
        )
        self.chip = DS3231(self.world)
        self.chip.set_epoch(epoch)
        self.real[0] += phase  # the chip's second started `phase` ago... then moves on
        self.bus = bus = Bus()
        bus.attach(0x68, self.chip)
        self.clock = clock_mod.Clock(I2C(bus), 0x68, monotonic=self.world.monotonic)

    def step(self, dt):
        self.real[0] += dt


def test_now_reads_the_rtc_time():
    r = Rig()
    assert r.clock.valid
    assert r.clock.now() == T0
    assert r.clock.reason == "ok"


def test_power_loss_makes_clock_invalid_and_set_recovers_it():
    r = Rig()
    r.chip.power_loss()
    r.step(1.5)
    assert r.clock.now() is None
    assert not r.clock.valid
    assert r.clock.reason == "power_lost"
    r.clock.set(T0 + 100)
    assert r.clock.valid and r.clock.reason == "ok"
    assert r.clock.now() == T0 + 100
    assert r.chip.epoch() == T0 + 100


def test_time_before_the_build_is_not_trusted():
    r = Rig()
    r.chip.set_epoch(version.BUILD_EPOCH - 86400)
    r.step(1.5)
    assert r.clock.now() is None
    assert r.clock.reason == "before_build"


def test_shown_second_follows_the_rtc_tick_within_a_loop_period_with_few_reads():
    rng = random.Random(3)
    r = Rig(phase=0.37)
    reads0 = r.clock.reads
    late = 0
    steps = 0
    for _ in range(3000):  # 60 s of a 20 ms loop
        r.step(0.02 + rng.random() * 0.002)
        shown = r.clock.now()
        truth = r.chip.epoch()
        steps += 1
        assert truth - 1 <= shown <= truth
        if shown != truth:
            late += 1
    # Lagging the chip only for the loop pass where the tick happens.
    assert late <= 60 * 2 + 50
    reads = r.clock.reads - reads0
    assert reads <= 60 * 5, reads


def test_chip_second_reads_the_seconds_register_now():
    r = Rig()
    assert r.clock.now() == T0 and r.clock.chip_second() == T0 % 60
    # Half a second on the chip has ticked; now() has not reread it yet, the register has.
    r.step(0.5)
    r.clock.now()
    r.step(0.6)
    assert r.chip.epoch() == T0 + 1
    assert r.clock.chip_second() == (T0 + 1) % 60


def test_aging_offset_is_read_and_written_in_the_chips_register():
    r = Rig()
    assert r.clock.aging() == 0
    r.clock.set_aging(-5)
    assert r.clock.aging() == -5 == r.chip.aging
    assert r.chip.registers()[0x10] == 256 - 5


def test_chip_registers_without_an_answer_are_os_errors():
    r = Rig()
    r.bus.set_fault(0x68, True)
    for op in (r.clock.chip_second, r.clock.aging, lambda: r.clock.set_aging(3)):
        with pytest.raises(OSError):
            op()
    r.bus.set_fault(0x68, False)
    assert r.chip.aging == 0


def test_set_rejects_times_outside_the_chips_range():
    r = Rig()
    for bad in (0, 946684799, 4102444800):
        try:
            r.clock.set(bad)
        except ValueError as e:
            assert "range" in str(e)
        else:
            raise AssertionError("accepted %d" % bad)


@given(st.integers(min_value=946684800, max_value=4102444799))
def test_civil_conversion_matches_the_calendar(epoch):
    dt = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    y, mo, d, h, mi, s, wd, yd = clock_mod.civil_from_epoch(epoch)
    assert (y, mo, d, h, mi, s) == (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
    assert wd == dt.weekday()
    assert yd == dt.timetuple().tm_yday
    assert clock_mod.days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s == epoch
    assert calendar.timegm((y, mo, d, h, mi, s)) == epoch


def test_twelve_hour_mode_register_is_read_right():
    r = Rig()
    # 11 PM in 12-hour mode (bit 6), written straight to the chip's hours register.
    r.chip.set_epoch(T0 - T0 % 86400 + 23 * 3600)
    dev = r.clock.rtc.i2c_device
    with dev:
        dev.write(bytes([0x02, 0x40 | 0x20 | 0x11]))
    r.step(1.5)
    assert r.clock.now() % 86400 // 3600 == 23
