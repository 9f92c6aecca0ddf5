// Register-level model of the Maxim DS3231 real-time clock (datasheet 19-5170 rev. 10),
// the page's counterpart of otpfob/sim/ds3231.py: the counter is seconds since
// 2000-01-01 and runs from the world's clock at (1 + rate) seconds per world second;
// reads see a snapshot taken when the transaction starts.

const REG_SECONDS = 0x00;
const REG_MINUTES = 0x01;
const REG_HOURS = 0x02;
const REG_DAY = 0x03;
const REG_DATE = 0x04;
const REG_MONTH = 0x05;
const REG_YEAR = 0x06;
const REG_CONTROL = 0x0e;
const REG_STATUS = 0x0f;
const REG_AGING = 0x10;
const REG_TEMP_MSB = 0x11;
const REG_TEMP_LSB = 0x12;
const REG_COUNT = 0x13;          // the pointer wraps to 0 after 0x12

const HOURS_12H = 0x40;
const HOURS_PM = 0x20;
const MONTH_CENTURY = 0x80;
const CTRL_EOSC = 0x80;
const CTRL_CONV = 0x20;
const CTRL_POWER_ON = 0x1c;      // INTCN, RS2, RS1
const STAT_OSF = 0x80;           // oscillator stopped: set at power-up
const STAT_EN32KHZ = 0x08;
const STAT_POWER_ON = 0x88;
const STAT_CLEAR_ONLY = 0x83;    // OSF, A2F, A1F: a 0 clears, a 1 is ignored
const AGING_PPM_PER_STEP = 0.1;  // datasheet "Aging Offset", at 25 C

export const EPOCH_2000 = 946684800;
const DAYS_TO_2000 = 10957;

const bcd = (v) => (Math.floor(v / 10) << 4) | (v % 10);
const unbcd = (v) => (v >> 4) * 10 + (v & 0x0f);
const fdiv = (a, b) => Math.floor(a / b);

export function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = fdiv(y >= 0 ? y : y - 399, 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = fdiv(153 * mp + 2, 5) + d - 1;
  const doe = yoe * 365 + fdiv(yoe, 4) - fdiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z) {
  z += 719468;
  const era = fdiv(z >= 0 ? z : z - 146096, 146097);
  const doe = z - era * 146097;
  const yoe = fdiv(doe - fdiv(doe, 1460) + fdiv(doe, 36524) - fdiv(doe, 146096), 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + fdiv(yoe, 4) - fdiv(yoe, 100));
  const mp = fdiv(5 * doy + 2, 153);
  const d = doy - fdiv(153 * mp + 2, 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [y + (m <= 2 ? 1 : 0), m, d];
}

export class DS3231 {
  // `now()` gives the world's time in epoch seconds (a float).
  constructor(now, driftPpm = 0, temperature = 25) {
    this.now = now;
    this.driftPpm = driftPpm;
    this.temperature = temperature;
    this.regs = new Uint8Array(REG_COUNT);
    this.ptr = 0;
    this.powerLoss();
  }

  powerLoss() {
    this.regs.fill(0);
    this.regs[REG_CONTROL] = CTRL_POWER_ON;
    this.regs[REG_STATUS] = STAT_POWER_ON;
    this.hour12 = false;
    this.wdayShift = 0;
    this.baseCount = 0;
    this.baseWorld = this.now();
  }

  get aging() {
    const a = this.regs[REG_AGING];
    return a & 0x80 ? a - 256 : a;
  }

  get osf() {
    return (this.regs[REG_STATUS] & STAT_OSF) !== 0;
  }

  rate() {
    return (this.driftPpm - AGING_PPM_PER_STEP * this.aging) * 1e-6;
  }

  count() {
    return this.baseCount + (this.now() - this.baseWorld) * (1 + this.rate());
  }

  rebase() {
    const now = this.now();
    this.baseCount += (now - this.baseWorld) * (1 + this.rate());
    this.baseWorld = now;
  }

  epoch() {
    return EPOCH_2000 + Math.floor(this.count());
  }

  // As a factory would: whole second, divider restarted, OSF clear.
  setEpoch(epoch) {
    this.baseCount = Math.floor(epoch) - EPOCH_2000;
    this.baseWorld = this.now();
    this.regs[REG_STATUS] &= ~STAT_OSF & 0xff;
    this.regs[REG_CONTROL] &= ~CTRL_EOSC & 0xff;
  }

  timeBytes(count) {
    const whole = Math.floor(count);
    const days = fdiv(whole, 86400);
    const secs = whole - days * 86400;
    const [y, m, d] = civilFromDays(days + DAYS_TO_2000);
    const years = y - 2000;
    const hour = fdiv(secs, 3600);
    let hourReg;
    if (this.hour12) {
      hourReg = HOURS_12H | (hour >= 12 ? HOURS_PM : 0) | bcd(hour % 12 || 12);
    } else {
      hourReg = bcd(hour);
    }
    const century = fdiv(years, 100) % 2 ? MONTH_CENTURY : 0;
    return [bcd(secs % 60), bcd(fdiv(secs, 60) % 60), hourReg,
      (((days + this.wdayShift) % 7) + 7) % 7 + 1, bcd(d), century | bcd(m),
      bcd(((years % 100) + 100) % 100)];
  }

  loadTimeBytes(t, secondsWritten, countNow) {
    const secs = unbcd(t[REG_SECONDS] & 0x7f);
    const mins = unbcd(t[REG_MINUTES] & 0x7f);
    const h = t[REG_HOURS];
    this.hour12 = (h & HOURS_12H) !== 0;
    const hour = this.hour12 ? (unbcd(h & 0x1f) % 12) + (h & HOURS_PM ? 12 : 0)
      : unbcd(h & 0x3f);
    const date = unbcd(t[REG_DATE] & 0x3f);
    const month = unbcd(t[REG_MONTH] & 0x1f);
    const year = 2000 + unbcd(t[REG_YEAR]) + (t[REG_MONTH] & MONTH_CENTURY ? 100 : 0);
    const days = daysFromCivil(year, month, date) - DAYS_TO_2000;
    const whole = days * 86400 + hour * 3600 + mins * 60 + secs;
    // Writing the seconds register restarts the countdown chain; other time registers
    // keep the running fraction of a second.
    const frac = secondsWritten ? 0 : countNow - Math.floor(countNow);
    this.baseCount = whole + frac;
    this.baseWorld = this.now();
    this.wdayShift = ((((t[REG_DAY] & 0x07) - 1 - days) % 7) + 7) % 7;
  }

  snapshot() {
    const count = this.count();
    const regs = Uint8Array.from(this.regs);
    regs.set(this.timeBytes(count), 0);
    const temp = Math.round(this.temperature * 4) & 0x3ff;
    regs[REG_TEMP_MSB] = temp >> 2;
    regs[REG_TEMP_LSB] = (temp & 0x03) << 6;
    return [regs, count];
  }

  i2cWrite(data) {
    if (!data.length) return;
    this.ptr = data[0] % REG_COUNT;
    if (data.length === 1) return;
    let [regs, count] = this.snapshot();
    let timeTouched = false;
    let secondsWritten = false;
    for (let i = 1; i < data.length; i++) {
      const b = data[i];
      const r = this.ptr;
      if (r <= REG_YEAR) {
        regs[r] = b;
        timeTouched = true;
        secondsWritten = secondsWritten || r === REG_SECONDS;
      } else if (r === REG_CONTROL) {
        // A conversion this model completes at once: CONV reads back 0.
        this.regs[r] = b & ~CTRL_CONV & 0xff;
      } else if (r === REG_STATUS) {
        const old = this.regs[r];
        this.regs[r] = (old & b & STAT_CLEAR_ONLY) | (b & STAT_EN32KHZ);
      } else if (r < REG_TEMP_MSB) {
        if (r === REG_AGING) {
          this.rebase();          // the old rate up to now, the new one from now on
          this.regs[r] = b;
          count = this.count();
        } else {
          this.regs[r] = b;
        }
      }
      this.ptr = (r + 1) % REG_COUNT;
    }
    if (timeTouched) this.loadTimeBytes(regs, secondsWritten, count);
  }

  i2cRead(n) {
    const [regs] = this.snapshot();
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = regs[this.ptr];
      this.ptr = (this.ptr + 1) % REG_COUNT;
    }
    return out;
  }

  registers() {
    return this.snapshot()[0];
  }

  // What survives a page reload, like the chip on its coin cell.
  toState() {
    return { count: this.count(), world: this.now(), hour12: this.hour12,
      wdayShift: this.wdayShift, regs: Array.from(this.regs.slice(0x07, REG_TEMP_MSB)) };
  }

  fromState(s) {
    this.regs.set(s.regs, 0x07);
    this.hour12 = !!s.hour12;
    this.wdayShift = s.wdayShift | 0;
    this.baseCount = s.count;
    this.baseWorld = s.world;
  }
}
