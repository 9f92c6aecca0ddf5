"""Register-level model of the Maxim DS3231 RTC (datasheet 19-5170, rev. 10).

The chip's counter is kept as seconds since 2000-01-01 00:00:00 (its calendar origin)
and counts from the world's clock at (1 + rate) seconds per world second, where rate is
the configured drift plus the aging offset's effect. Register reads see a snapshot taken
at the start of the transaction, as the chip's user buffers are synchronised on START.
Runs on CPython and MicroPython (no CPython-only modules).
"""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


# Register map (datasheet Figure 1, "Timekeeping Registers").
REG_SECONDS = const(0x00)  # BCD 00-59
REG_MINUTES = const(0x01)  # BCD 00-59
REG_HOURS = const(0x02)  # bit 6 12/24, bit 5 AM/PM or 20 h, BCD hours
REG_DAY = const(0x03)  # day of week 1-7, user-defined meaning
REG_DATE = const(0x04)  # BCD 01-31
REG_MONTH = const(0x05)  # bit 7 century, BCD 01-12
REG_YEAR = const(0x06)  # BCD 00-99
REG_ALARM1 = const(0x07)  # 0x07-0x0A: alarm 1 seconds, minutes, hours, day/date
REG_ALARM2 = const(0x0B)  # 0x0B-0x0D: alarm 2 minutes, hours, day/date
REG_CONTROL = const(0x0E)
REG_STATUS = const(0x0F)
REG_AGING = const(0x10)  # signed aging offset
REG_TEMP_MSB = const(0x11)  # signed integer degrees C
REG_TEMP_LSB = const(0x12)  # bits 7:6 quarter degrees
REG_COUNT = const(0x13)  # the register pointer wraps to 0x00 after 0x12

# Hours register bits (datasheet "Clock and Calendar").
HOURS_12H = const(0x40)  # 1 = 12-hour mode
HOURS_PM = const(0x20)  # in 12-hour mode: 1 = PM
MONTH_CENTURY = const(0x80)  # toggles when the years register rolls over from 99 to 00

# Control register bits (datasheet "Control Register (0Eh)").
CTRL_EOSC = const(0x80)  # 1 = oscillator stops when running from VBAT
CTRL_BBSQW = const(0x40)  # battery-backed square wave enable
CTRL_CONV = const(0x20)  # force a temperature conversion (self-clearing)
CTRL_RS2 = const(0x10)
CTRL_RS1 = const(0x08)
CTRL_INTCN = const(0x04)  # 1 = INT/SQW pin is the alarm interrupt
CTRL_A2IE = const(0x02)
CTRL_A1IE = const(0x01)
CTRL_POWER_ON = const(0x1C)  # INTCN, RS2, RS1 set at power-on

# Status register bits (datasheet "Status Register (0Fh)").
STAT_OSF = const(0x80)  # oscillator stopped: set at first power-up and on power loss
STAT_EN32KHZ = const(0x08)
STAT_BSY = const(0x04)  # TCXO busy (read-only)
STAT_A2F = const(0x02)
STAT_A1F = const(0x01)
STAT_POWER_ON = const(0x88)  # OSF and EN32kHz set at power-on
STAT_CLEAR_ONLY = const(0x83)  # OSF, A2F, A1F: writing 0 clears, writing 1 is ignored

# Aging offset: one step is about 0.1 ppm at 25 C; positive values slow the oscillator
# (datasheet "Aging Offset", typical frequency-vs-aging curve).
AGING_PPM_PER_STEP = 0.1

EPOCH_2000 = 946684800  # Unix time of the chip's calendar origin
_DAYS_TO_2000 = 10957  # days from 1970-01-01 to 2000-01-01


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (works for any year)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) of a day number counted from 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return y + (m <= 2), m, d


def bcd(value):
    return ((value // 10) << 4) | (value % 10)


def unbcd(value):
    return (value >> 4) * 10 + (value & 0x0F)


class DS3231:
    """The chip. ``world`` provides ``now()`` (epoch seconds, float)."""

    ADDRESS = 0x68

    def __init__(self, world, drift_ppm=0.0, temperature=25.0):
        self.world = world
        self.drift_ppm = drift_ppm
        self.temperature = temperature
        self.on_change = None
        self._regs = bytearray(REG_COUNT)
        self._ptr = 0
        self.transactions = 0
        self.power_loss()

    # -- power and counting ----------------------------------------------------------------
    def power_loss(self):
        """VCC and VBAT both gone: every register back to its power-on state, OSF set.

        Datasheet: time and date read 01/01/00, day 1, 00:00:00 after power-on reset.
        """
        for i in range(REG_COUNT):
            self._regs[i] = 0
        self._regs[REG_CONTROL] = CTRL_POWER_ON
        self._regs[REG_STATUS] = STAT_POWER_ON
        self._hour12 = False
        self._wday_shift = 0
        self._base_count = 0.0
        self._base_world = self.world.now()
        self._changed()

    def _rate(self):
        return (self.drift_ppm - AGING_PPM_PER_STEP * self.aging) * 1e-6

    def count(self):
        """Seconds since 2000-01-01 as the chip counts them now (float)."""
        return self._base_count + (self.world.now() - self._base_world) * (1.0 + self._rate())

    def _rebase(self):
        now = self.world.now()
        self._base_count = self._base_count + (now - self._base_world) * (1.0 + self._rate())
        self._base_world = now

    def set_drift(self, ppm):
        self._rebase()
        self.drift_ppm = ppm
        self._changed()

    def epoch(self):
        """The chip's time as whole Unix seconds."""
        return EPOCH_2000 + int(self.count() // 1)

    def set_epoch(self, epoch):
        """Set the counter as a factory would: whole second, divider restarted, OSF clear."""
        self._base_count = float(int(epoch) - EPOCH_2000)
        self._base_world = self.world.now()
        self._regs[REG_STATUS] &= ~STAT_OSF & 0xFF
        self._regs[REG_CONTROL] &= ~CTRL_EOSC & 0xFF
        self._changed()

    @property
    def aging(self):
        a = self._regs[REG_AGING]
        return a - 256 if a & 0x80 else a

    @property
    def osf(self):
        return bool(self._regs[REG_STATUS] & STAT_OSF)

    @property
    def control(self):
        return self._regs[REG_CONTROL]

    @property
    def status(self):
        return self._regs[REG_STATUS]

    @property
    def hour12(self):
        return self._hour12

    def _changed(self):
        if self.on_change is not None:
            self.on_change(self)

    # -- time registers --------------------------------------------------------------------
    def _time_bytes(self, count):
        whole = int(count // 1)
        days = whole // 86400
        secs = whole - days * 86400
        y, m, d = civil_from_days(days + _DAYS_TO_2000)
        years = y - 2000
        hour = secs // 3600
        if self._hour12:
            h12 = hour % 12 or 12
            hour_reg = HOURS_12H | (HOURS_PM if hour >= 12 else 0) | bcd(h12)
        else:
            hour_reg = bcd(hour)
        century = MONTH_CENTURY if (years // 100) % 2 else 0
        return bytearray(
            (
                bcd(secs % 60),
                bcd((secs // 60) % 60),
                hour_reg,
                (days + self._wday_shift) % 7 + 1,
                bcd(d),
                century | bcd(m),
                bcd(years % 100),
            )
        )

    def _load_time_bytes(self, t, seconds_written, count_now):
        secs = unbcd(t[REG_SECONDS] & 0x7F)
        mins = unbcd(t[REG_MINUTES] & 0x7F)
        h = t[REG_HOURS]
        self._hour12 = bool(h & HOURS_12H)
        if self._hour12:
            hour = unbcd(h & 0x1F) % 12 + (12 if h & HOURS_PM else 0)
        else:
            hour = unbcd(h & 0x3F)
        date = unbcd(t[REG_DATE] & 0x3F)
        month = unbcd(t[REG_MONTH] & 0x1F)
        year = 2000 + unbcd(t[REG_YEAR]) + (100 if t[REG_MONTH] & MONTH_CENTURY else 0)
        days = days_from_civil(year, month, date) - _DAYS_TO_2000
        whole = days * 86400 + hour * 3600 + mins * 60 + secs
        # Writing the seconds register resets the countdown chain (datasheet "Clock and
        # Calendar"); other time registers keep the running fraction of a second.
        frac = 0.0 if seconds_written else count_now - (count_now // 1)
        self._base_count = whole + frac
        self._base_world = self.world.now()
        self._wday_shift = ((t[REG_DAY] & 0x07) - 1 - days) % 7

    # -- I2C -------------------------------------------------------------------------------
    def _snapshot(self):
        count = self.count()
        regs = bytearray(self._regs)
        regs[0:7] = self._time_bytes(count)
        temp = int(round(self.temperature * 4)) & 0x3FF
        regs[REG_TEMP_MSB] = temp >> 2
        regs[REG_TEMP_LSB] = (temp & 0x03) << 6
        return regs, count

    def i2c_write(self, data, stop=True):
        self.transactions += 1
        if not data:
            return
        self._ptr = data[0] % REG_COUNT
        if len(data) == 1:
            return
        regs, count = self._snapshot()
        time_touched = False
        seconds_written = False
        changed = False
        for b in data[1:]:
            r = self._ptr
            if r <= REG_YEAR:
                regs[r] = b
                time_touched = True
                seconds_written = seconds_written or r == REG_SECONDS
            elif r == REG_CONTROL:
                # CONV starts a conversion that this model completes at once, so it reads 0.
                self._regs[r] = b & ~CTRL_CONV & 0xFF
                changed = True
            elif r == REG_STATUS:
                old = self._regs[r]
                self._regs[r] = (old & b & STAT_CLEAR_ONLY) | (b & STAT_EN32KHZ)
                changed = True
            elif r < REG_TEMP_MSB:
                self._regs[r] = b
                if r == REG_AGING:
                    # The new offset applies from now on: rebase with the old rate first.
                    self._regs[r] = regs[r]
                    self._rebase()
                    self._regs[r] = b
                    count = self.count()
                changed = True
            # The temperature registers are read-only.
            self._ptr = (r + 1) % REG_COUNT
        if time_touched:
            self._load_time_bytes(regs, seconds_written, count)
            changed = True
        if changed:
            self._changed()

    def i2c_read(self, n):
        self.transactions += 1
        regs, _ = self._snapshot()
        out = bytearray(n)
        for i in range(n):
            out[i] = regs[self._ptr]
            self._ptr = (self._ptr + 1) % REG_COUNT
        return bytes(out)

    def registers(self):
        """All registers as the chip would return them now (for tests and debugging)."""
        return bytes(self._snapshot()[0])

    # -- persistence (the coin cell) -------------------------------------------------------
    def to_state(self):
        return {
            "count": self.count(),
            "world": self.world.now(),
            "hour12": self._hour12,
            "wday_shift": self._wday_shift,
            "regs": list(self._regs[REG_ALARM1:REG_TEMP_MSB]),
            "drift_ppm": self.drift_ppm,
            "temperature": self.temperature,
        }

    def from_state(self, state):
        """Resume after the simulator was off, as a chip on its coin cell would.

        With EOSC set the oscillator stops on battery (datasheet, control register), so
        the time off is not counted and OSF is set.
        """
        regs = state["regs"]
        for i in range(len(regs)):
            self._regs[REG_ALARM1 + i] = regs[i]
        self._hour12 = bool(state["hour12"])
        self._wday_shift = int(state["wday_shift"])
        self.drift_ppm = float(state.get("drift_ppm", 0.0))
        self.temperature = float(state.get("temperature", 25.0))
        now = self.world.now()
        if self._regs[REG_CONTROL] & CTRL_EOSC:
            self._base_count = float(state["count"])
            self._base_world = now
            self._regs[REG_STATUS] |= STAT_OSF
        else:
            self._base_count = float(state["count"])
            self._base_world = float(state["world"])
