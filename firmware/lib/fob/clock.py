# UTC from the DS3231, read through adafruit_ds3231's device. The chip is read about once
# a second; between reads the second is extrapolated with time.monotonic(), and the chip is
# read again just before the expected boundary so the shown second is the RTC's own.

import time

from fob import version

from micropython import const


# DS3231 registers (datasheet, figure 1).
_REG_SECONDS = const(0x00)
_REG_STATUS = const(0x0F)
# Seconds..year (7 registers), then alarms and control up to the status register.
_READ_LEN = const(16)
_SECONDS = const(0)
_MINUTES = const(1)
_HOURS = const(2)
_DATE = const(4)
_MONTH = const(5)
_YEAR = const(6)
_HOURS_12H = const(0x40)  # 12-hour mode bit in the hours register
_HOURS_PM = const(0x20)
_MONTH_CENTURY = const(0x80)
_STATUS_OSF = const(0x80)  # oscillator stop flag: the time is not to be trusted
# Start polling this long before the next second is due, so the change is caught within a
# loop period of the chip's own tick.
_LEAD = 0.05
_POLL = 0.015
# Reads in a row that may go unanswered before the time counts as lost (each one a poll
# apart, so well within the second the last good read covers).
_MISSES_KEPT = const(2)
_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _bcd(v):
    return (v >> 4) * 10 + (v & 0x0F)


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (2000..2099 for the DS3231)."""
    days = (y - 1970) * 365 + (y - 1969) // 4 - (y - 1901) // 100 + (y - 1601) // 400
    days += _DAYS_BEFORE_MONTH[m - 1] + d - 1
    if m > 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0):
        days += 1
    return days


def civil_from_epoch(epoch):
    """(year, month, day, hour, minute, second, weekday 0=Monday, yearday) of a UTC epoch."""
    days, rest = divmod(epoch, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    y = 1970 + days // 366
    while days_from_civil(y + 1, 1, 1) <= days:
        y += 1
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    yday = days - days_from_civil(y, 1, 1)
    m = 12
    while m > 1 and yday < _DAYS_BEFORE_MONTH[m - 1] + (1 if leap and m > 2 else 0):
        m -= 1
    d = yday - _DAYS_BEFORE_MONTH[m - 1] - (1 if leap and m > 2 else 0) + 1
    return y, m, d, hour, minute, second, weekday, yday + 1


class _Fields:
    # What adafruit_ds3231's datetime setter reads; MicroPython has no time.struct_time.
    def __init__(self, epoch):
        f = civil_from_epoch(epoch)
        self.tm_year, self.tm_mon, self.tm_mday = f[0], f[1], f[2]
        self.tm_hour, self.tm_min, self.tm_sec = f[3], f[4], f[5]
        self.tm_wday, self.tm_yday, self.tm_isdst = f[6], f[7], -1


class Clock:
    """The DS3231 as a source of UTC: now(), valid, reason, set(); and the chip's own
    registers for those that need them: chip_second(), aging(), set_aging(n).

    ``reason`` is "ok", "power_lost", "before_build" or "no_answer" (the chip did not
    acknowledge its last read)."""

    def __init__(self, i2c, address=0x68, rtc=None, monotonic=None):
        self._i2c = i2c
        self._address = address
        self.rtc = rtc
        self._mono = monotonic or time.monotonic
        self._out = bytearray(1)
        self._out[0] = _REG_SECONDS
        self._regs = bytearray(_READ_LEN)
        self._second = bytearray(1)
        self._epoch = None
        self._read_at = 0.0
        self._ticked_at = 0.0
        self.reason = "power_lost"
        self.reads = 0
        self.failures = 0  # reads the chip did not answer
        self._misses = 0  # of them in a row
        self._read()

    def _driver(self):
        import adafruit_ds3231

        rtc = adafruit_ds3231.DS3231(self._i2c)
        if self._address != 0x68:
            from adafruit_bus_device.i2c_device import I2CDevice

            rtc.i2c_device = I2CDevice(self._i2c, self._address)
        return rtc

    def _read(self):
        now = self._mono()
        self._read_at = now
        try:
            if self.rtc is None:
                # The driver probes the chip when made: a fob started with the RTC
                # unplugged makes it at the first read that gets an answer.
                self.rtc = self._driver()
            with self.rtc.i2c_device as dev:
                dev.write_then_readinto(self._out, self._regs)
        except (OSError, ValueError):
            # No acknowledge (ValueError: the driver's probe found no chip). One miss
            # (noise on the bus) keeps the second just read and asks again at the next
            # poll; more (a loose wire, a chip without power) leave no time at all rather
            # than an old one, so no code is shown, and now() asks again once a second.
            self.failures += 1
            self._misses += 1
            if self._epoch is None or self._misses > _MISSES_KEPT:
                self.reason = "no_answer"
                self._epoch = None
            return
        self._misses = 0
        self.reads += 1
        r = self._regs
        if r[_REG_STATUS] & _STATUS_OSF:
            self.reason = "power_lost"
            self._epoch = None
            return
        hours = r[_HOURS]
        if hours & _HOURS_12H:
            hour = _bcd(hours & 0x1F) % 12 + (12 if hours & _HOURS_PM else 0)
        else:
            hour = _bcd(hours & 0x3F)
        year = 2000 + _bcd(r[_YEAR])
        month = _bcd(r[_MONTH] & ~_MONTH_CENTURY & 0x1F)
        day = _bcd(r[_DATE] & 0x3F)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            self.reason = "power_lost"
            self._epoch = None
            return
        epoch = (days_from_civil(year, month, day) * 86400 + hour * 3600
                 + _bcd(r[_MINUTES] & 0x7F) * 60 + _bcd(r[_SECONDS] & 0x7F))
        if epoch < version.BUILD_EPOCH:
            self.reason = "before_build"
            self._epoch = None
            return
        if self._epoch is None:
            # The phase of the chip's second is unknown: poll closely for a whole second
            # until it is seen to tick (a full second, so the tick cannot fall into the
            # slow-polling window below).
            self._ticked_at = now - 1.0 + _LEAD
        elif epoch != self._epoch:
            self._ticked_at = now
        self._epoch = epoch
        self.reason = "ok"

    @property
    def valid(self):
        self.now()
        return self._epoch is not None

    def now(self):
        """UTC seconds since 1970, or None when the RTC's time cannot be trusted."""
        t = self._mono()
        age = t - self._read_at
        since = t - self._ticked_at
        if self._epoch is None:
            if age >= 1.0:
                self._read()
        elif since >= 2.0:
            # The chip has not ticked when due (stopped oscillator?): poll gently.
            if age >= 0.5:
                self._read()
        elif since >= 1.0 - _LEAD and age >= _POLL:
            self._read()
        return self._epoch

    def fraction(self):
        """How far into its current second the clock is (0 to 1), from when the loop last
        saw the chip tick; 0 when the time is not valid."""
        if self._epoch is None:
            return 0.0
        f = self._mono() - self._ticked_at
        return 0.0 if f < 0 else (f if f < 0.999 else 0.999)

    def _chip(self):
        if self.rtc is None:
            self._read()
            if self.rtc is None:
                raise OSError("the RTC is not answering")
        return self.rtc

    def chip_second(self):
        """The chip's seconds register (0-59) read now, whenever now() last read it;
        OSError when the chip does not answer."""
        with self._chip().i2c_device as dev:
            dev.write_then_readinto(self._out, self._second)
        return _bcd(self._second[0] & 0x7F)

    def aging(self):
        """The aging offset register: signed, about 0.1 ppm of rate a step (datasheet
        "Aging Offset"); OSError when the chip does not answer."""
        return self._chip().calibration

    def set_aging(self, n):
        """Write the aging offset (-128..127). The driver's setter also starts a
        temperature conversion, which is when the chip applies a new offset; otherwise it
        would wait for the next one (64 s)."""
        self._chip().calibration = n

    def set(self, epoch):
        """Set the RTC to UTC ``epoch`` and clear its oscillator-stop flag."""
        epoch = int(epoch)
        if epoch < 946684800 or epoch >= 4102444800:
            raise ValueError("time out of the RTC's range (2000-2099)")
        self._chip().datetime = _Fields(epoch)
        written = self._mono()
        self._epoch = None
        self._read()
        if self._epoch is not None:
            # Writing the seconds register restarts the chip's countdown to the next
            # second (datasheet: "the countdown chain is reset whenever the seconds
            # register is written"), so the second began at the write.
            self._ticked_at = written
