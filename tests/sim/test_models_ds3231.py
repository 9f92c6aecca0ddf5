"""The DS3231 model driven by the real adafruit_ds3231 driver over the emulated bus."""

import time

import adafruit_ds3231
import pytest

from otpfob.sim import ds3231 as chip
from otpfob.sim.i2c import I2C, Bus
from otpfob.sim.world import World

T0 = 1_800_000_000  # 2027-01-15 08:00:00 UTC


@pytest.fixture
def rig(world):
    bus = Bus()
    model = bus.attach(0x68, chip.DS3231(world))
    i2c = I2C(bus)
    return world, model, adafruit_ds3231.DS3231(i2c), i2c


def epoch_of(t):
    return (
        chip.days_from_civil(t.tm_year, t.tm_mon, t.tm_mday) * 86400
        + t.tm_hour * 3600
        + t.tm_min * 60
        + t.tm_sec
    )


def test_first_power_up_reads_2000_with_osf_set(rig):
    world, model, rtc, _ = rig
    t = rtc.datetime
    assert (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec) == (2000, 1, 1, 0, 0, 0)
    assert rtc.lost_power is True
    assert model.control == chip.CTRL_POWER_ON
    assert model.status & chip.STAT_EN32KHZ


def test_set_datetime_then_read_back_and_count_on(rig):
    world, model, rtc, _ = rig
    rtc.datetime = time.gmtime(T0 + 59)
    assert epoch_of(rtc.datetime) == T0 + 59
    assert rtc.lost_power is False
    world.skip(1.0)
    t = rtc.datetime
    assert epoch_of(t) == T0 + 60
    assert (t.tm_min, t.tm_sec) == (1, 0)
    world.skip(86400 * 400)
    assert epoch_of(rtc.datetime) == T0 + 60 + 86400 * 400


def test_weekday_register_counts_at_midnight(rig):
    world, model, rtc, _ = rig
    # 2027-01-15 is a Friday: tm_wday 4.
    rtc.datetime = time.gmtime(T0)
    assert rtc.datetime.tm_wday == 4
    world.skip(16 * 3600)
    assert rtc.datetime.tm_wday == 5


def test_seconds_write_restarts_the_divider_other_writes_do_not(rig, world):
    _, model, rtc, i2c = rig
    rtc.datetime = time.gmtime(T0)
    world.skip(0.7)
    assert model.count() % 1 == pytest.approx(0.7)
    i2c.try_lock()
    i2c.writeto(0x68, bytes([chip.REG_MINUTES, chip.bcd(5)]))
    assert model.count() % 1 == pytest.approx(0.7)
    i2c.writeto(0x68, bytes([chip.REG_SECONDS, chip.bcd(30)]))
    assert model.count() % 1 == pytest.approx(0.0)
    i2c.unlock()
    t = rtc.datetime
    assert (t.tm_min, t.tm_sec) == (5, 30)


def test_twelve_hour_mode_reads_pm_bit(rig):
    world, model, _, i2c = rig
    i2c.try_lock()
    # 11:59:59 PM, 31 Dec 2099 written in 12 h mode (hours: 12/24 bit, PM bit, BCD 11).
    i2c.writeto(
        0x68, bytes([0x00, 0x59, 0x59, chip.HOURS_12H | chip.HOURS_PM | 0x11, 4, 0x31, 0x12, 0x99])
    )
    regs = bytearray(7)
    i2c.writeto_then_readfrom(0x68, b"\x00", regs)
    assert regs[2] == chip.HOURS_12H | chip.HOURS_PM | 0x11
    world.skip(1.0)
    i2c.writeto_then_readfrom(0x68, b"\x00", regs)
    # Midnight in 12 h mode is 12 AM; the year rolls 99 -> 00 and toggles the century bit.
    assert regs[2] == chip.HOURS_12H | 0x12
    assert (regs[4], regs[5], regs[6]) == (0x01, chip.MONTH_CENTURY | 0x01, 0x00)
    assert model.epoch() == 4102444800  # 2100-01-01
    i2c.unlock()


def test_register_pointer_auto_increments_and_wraps(rig):
    _, model, _, i2c = rig
    i2c.try_lock()
    i2c.writeto(0x68, bytes([chip.REG_AGING, 0x05]))
    out = bytearray(5)
    i2c.writeto_then_readfrom(0x68, bytes([chip.REG_AGING]), out)
    # 0x10 aging, 0x11/0x12 temperature, then the pointer wraps to seconds, minutes.
    assert out[0] == 0x05
    assert out[3] == model.registers()[0]
    assert out[4] == model.registers()[1]
    # A plain read continues from where the pointer was left.
    one = bytearray(1)
    i2c.readfrom_into(0x68, one)
    assert one[0] == model.registers()[chip.REG_HOURS]
    i2c.unlock()


def test_osf_clears_on_zero_and_cannot_be_set_by_writing_one(rig):
    _, model, rtc, _ = rig
    assert rtc.lost_power
    rtc.lost_power = False
    assert not model.osf
    rtc.lost_power = True
    assert not model.osf


def test_power_loss_sets_osf_and_resets_time(rig):
    world, model, rtc, _ = rig
    rtc.datetime = time.gmtime(T0)
    rtc.calibration = 10
    model.power_loss()
    assert rtc.lost_power
    assert epoch_of(rtc.datetime) == chip.EPOCH_2000
    assert rtc.calibration == 0


def test_alarm_registers_are_stored(rig):
    _, model, rtc, _ = rig
    rtc.alarm1 = (time.struct_time((2000, 1, 1, 7, 30, 15, 0, 0, -1)), "daily")
    alarm, freq = rtc.alarm1
    assert (alarm.tm_hour, alarm.tm_min, alarm.tm_sec, freq) == (7, 30, 15, "daily")


def test_control_register_and_conv_self_clears(rig):
    _, model, rtc, _ = rig
    rtc.disable_oscillator = True
    assert model.control & chip.CTRL_EOSC
    # The setter forces a conversion and waits for CONV to read back 0.
    assert rtc.force_temperature_conversion() == 25.0
    assert not model.control & chip.CTRL_CONV


@pytest.mark.parametrize("celsius", [25.0, 31.75, 0.25, -10.25, -40.0, 85.0])
def test_temperature_in_quarter_degrees(rig, celsius):
    _, model, rtc, _ = rig
    model.temperature = celsius
    assert rtc.temperature == celsius


@pytest.mark.parametrize(
    "aging, drift, day_error",
    [
        (0, 0.0, 0.0),
        (127, 0.0, -1.09728),  # +127 steps * 0.1 ppm slows the clock 12.7 ppm
        (-128, 0.0, 1.10592),
        (0, 20.0, 1.728),
        (50, 20.0, 1.296),  # 20 ppm fast, trimmed by 5 ppm
    ],
)
def test_aging_offset_and_drift_over_a_day(world, aging, drift, day_error):
    bus = Bus()
    model = bus.attach(0x68, chip.DS3231(world, drift_ppm=drift))
    rtc = adafruit_ds3231.DS3231(I2C(bus))
    rtc.datetime = time.gmtime(T0)
    rtc.calibration = aging
    assert rtc.calibration == aging
    world.skip(86400)
    assert model.count() - (T0 - chip.EPOCH_2000) - 86400 == pytest.approx(day_error, abs=1e-6)
    # What the driver reads is the whole-second floor of the chip's count.
    assert epoch_of(rtc.datetime) == T0 + 86400 + int(day_error // 1)


def test_aging_applies_from_the_moment_it_is_written(world):
    bus = Bus()
    model = bus.attach(0x68, chip.DS3231(world))
    rtc = adafruit_ds3231.DS3231(I2C(bus))
    rtc.datetime = time.gmtime(T0)
    world.skip(86400)
    rtc.calibration = -100  # +10 ppm from here on only
    world.skip(86400)
    assert model.count() - (T0 - chip.EPOCH_2000) == pytest.approx(2 * 86400 + 0.864, abs=1e-6)


def test_state_round_trip_continues_counting_like_a_coin_cell(fake_clock):
    w1 = World(epoch=1_800_000_000.0, real_clock=fake_clock, real_sleep=fake_clock.sleep)
    a = chip.DS3231(w1, drift_ppm=3.0)
    a.set_epoch(T0)
    a.i2c_write(bytes([chip.REG_AGING, 7]))
    state = a.to_state()
    fake_clock.t += 3600  # simulator off for an hour
    w2 = World(epoch=1_800_003_600.0, real_clock=fake_clock, real_sleep=fake_clock.sleep)
    b = chip.DS3231(w2)
    b.from_state(state)
    assert b.aging == 7 and b.drift_ppm == 3.0 and not b.osf
    assert b.count() == pytest.approx(a.count(), abs=1e-6)


def test_eosc_stops_the_oscillator_while_off_and_sets_osf(fake_clock):
    w = World(epoch=1_800_000_000.0, real_clock=fake_clock, real_sleep=fake_clock.sleep)
    a = chip.DS3231(w)
    a.set_epoch(T0)
    a.i2c_write(bytes([chip.REG_CONTROL, chip.CTRL_EOSC | chip.CTRL_INTCN]))
    state = a.to_state()
    fake_clock.t += 3600
    b = chip.DS3231(w)
    b.from_state(state)
    assert b.osf
    assert b.epoch() == T0


def test_absent_address_raises_enodev_and_driver_reports_it(world):
    bus = Bus()
    i2c = I2C(bus)
    i2c.try_lock()
    with pytest.raises(OSError) as info:
        i2c.writeto(0x68, b"")
    assert info.value.errno == 19
    i2c.unlock()
    with pytest.raises(ValueError, match="No I2C device at address: 0x68"):
        adafruit_ds3231.DS3231(i2c)


def test_bus_transfers_require_the_lock_and_scan_lists_devices(world):
    bus = Bus()
    bus.attach(0x68, chip.DS3231(world))
    i2c = I2C(bus)
    with pytest.raises(RuntimeError, match="requires lock"):
        i2c.writeto(0x68, b"\x00")
    assert i2c.try_lock() and not i2c.try_lock()
    assert i2c.scan() == [0x68]
    i2c.unlock()
    i2c.deinit()
    with pytest.raises(ValueError, match="deinitialized"):
        i2c.try_lock()
