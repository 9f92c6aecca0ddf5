// The fob on real CircuitPython: a CircuitPython UF2 image on an emulated RP2040 (rp2040js)
// with the DS3231, the SSD1306, the buttons, flash writes and a USB host taken from the
// emulator folder (chips.mjs, flash.mjs, usbhost.mjs, cp10.mjs; the Makefile copies them
// into build/cp-emu/). otpfob.testing.realcp drives it. What this file adds for the tests:
//
//  - the watchdog as a test needs it: every feed (a write of LOAD) is timed, so `passes`
//    gives the longest interval between two feeds, which is the longest pass of the fob's
//    main loop; a firing after a timeout is logged and counted (a real RP2040 resets
//    there; the run goes on so that the test sees what follows); the watchdog stands
//    still while the crystal is dormant, as on the chip, whose watchdog ticks from clk_ref;
//  - resets: the firmware's own (the watchdog's trigger bit, which is how CircuitPython
//    resets the chip, after a deep-sleep wake for one) restart the emulated chip in place
//    with flash, SRAM and the watchdog's scratch registers kept, and `power-cycle` starts
//    it afresh with or without a USB host (a fob on a keyring has none);
//  - deep sleep: XOSC dormant ends at a button press (a dormant GPIO wake);
//  - button presses and releases at exact emulated times, also "1.0 s from now" and "2 s
//    after the panel goes dark", so a gesture lands where it must (rp2040js jumps over a
//    light sleep to its next timer, far faster than a host could aim);
//  - --no-safe-mode-wait: the firmware's own reset leaves the pico-sdk's watchdog_enable()
//    mark (WATCHDOG_NON_REBOOT_MAGIC in scratch 4), so CircuitPython reads it as a watchdog
//    timeout and skips its 1 s safe-mode wait, as CircuitPython 10.3's
//    CIRCUITPY_SAFE_MODE_DELAY = 0 (settings.toml) or a CIRCUITPY_SKIP_SAFE_MODE_WAIT build
//    skips it: the deep-sleep wake such a fob would have, on the images there are here;
//  - a trace (JSON lines): every SSD1306 frame with the DS3231's time, presses, resets,
//    dormant and wake, watchdog firings; with --xip, XIP cache misses and I2C bytes so far
//    in each event, from which the harness estimates a real board's time.
//
// usage: node realcp.mjs --emu DIR --uf2 F --bootrom F (--fs DIR | --fs-image F)
//        [--data PORT] [--control PORT] [--no-usb] [--epoch N] [--rtc-ok] [--height 64]
//        [--i2c-pins 4,5] [--buttons A:15,B:14,C:13] [--log F] [--trace F] [--xip]
//        [--no-safe-mode-wait]
// Prints one JSON line {"data": PORT, "control": PORT} once both ports listen (0 picks
// free ports). Control commands, one a line, answered "ok ..." or "error ...":
//   status | passes | press B [after S] | hold B SECONDS [after S] | press-after-dark B S
//   | text | ram | screen PATH | fs-image PATH | fs-load PATH usb|no-usb
//   | power-cycle usb|no-usb | xip on|off | watchdog-reset | rtc-power-loss | quit
import fs from "fs";
import net from "net";
import os from "os";
import path from "path";
import zlib from "zlib";
import { pathToFileURL } from "url";
import { execFileSync } from "child_process";
import { Simulator, ConsoleLogger, LogLevel } from "rp2040js";
import { decodeBlock } from "uf2";

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, "");
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) args[k] = true;
  else { args[k] = v; i++; }
}
const emuDir = path.resolve(args.emu || ".");
const load = (name) => import(pathToFileURL(path.join(emuDir, name)).href);
const { DS3231, SSD1306, attach, attachBitbang } = await load("chips.mjs");
const { MultiCDC } = await load("usbhost.mjs");
const { emulateFlash } = await load("flash.mjs");
const { modelBootselButton } = await load("cp10.mjs");

const FLASH_SIZE = 2 * 1024 * 1024; // the Pico's W25Q16JV
const FS_OFFSET = 0x100000, FS_SIZE = 1024 * 1024; // CIRCUITPY on a 2 MB RP2040 board
const CYCLE_NS = 1e9 / 125e6;
const WD_LOAD = 0x04, WD_CTRL = 0x00, WD_REASON_FORCE = 2;
const WD_SCRATCH_SDK = 4, WATCHDOG_NON_REBOOT_MAGIC = 0x6ab73121; // pico-sdk watchdog.c
const XOSC_DORMANT = 0x08;
const MISS = { lineShift: 3, sets: 1024 }; // RP2040 XIP cache: 16 KB, 2-way, 8-byte lines

const logFd = args.log ? fs.openSync(args.log, "a") : null;
const logWrite = (b) => { if (logFd !== null) fs.writeSync(logFd, b); };
const traceFd = args.trace ? fs.openSync(args.trace, "a") : null;

function fatImage(dir) {
  const img = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "otpfob-cpfs-")), "fat.img");
  execFileSync("mkfs.fat", ["-C", "-F", "12", "-S", "512", "-s", "1", "-n", "CIRCUITPY", img, "1024"], { stdio: "ignore" });
  for (const name of fs.readdirSync(dir)) execFileSync("mcopy", ["-s", "-i", img, path.join(dir, name), "::" + name]);
  const data = fs.readFileSync(img);
  fs.rmSync(path.dirname(img), { recursive: true, force: true });
  return data;
}

// --- the parts that outlive a reset of the chip ---------------------------------------------
const flash = new Uint8Array(FLASH_SIZE).fill(0xff);
{
  const uf2 = fs.readFileSync(args.uf2);
  for (let off = 0; off + 512 <= uf2.length; off += 512) {
    const b = decodeBlock(new Uint8Array(uf2.subarray(off, off + 512)));
    flash.set(b.payload, b.flashAddress - 0x10000000);
  }
  flash.set(args["fs-image"] ? fs.readFileSync(args["fs-image"]) : fatImage(args.fs), FS_OFFSET);
}
const bootromWords = new Uint32Array(fs.readFileSync(args.bootrom, "utf8").match(/0x[0-9a-fA-F]{8}/g).map((h) => parseInt(h, 16)));

let chip = null; // the emulated RP2040 now running (replaced at each reset)
let baseNanos = 0; // emulated time of the chips before this one
const nanos = () => baseNanos + Number(chip ? chip.sim.clock.nanos : 0);
const now = () => nanos() / 1e9;
const rtc = new DS3231(nanos, +(args.epoch || Math.floor(Date.now() / 1000)), !args["rtc-ok"]);
const oled = new SSD1306(128, +(args.height || 64));
const counters = { xm: 0, i2cb: 0 };
const flashTotals = { erased_sectors: 0, programmed_bytes: 0, set_bits_refused: 0 };
const trace = (ev, o = {}) => {
  if (traceFd !== null) fs.writeSync(traceFd, JSON.stringify({ t: +now().toFixed(6), ev, xm: counters.xm, i2cb: counters.i2cb, ...o }) + "\n");
};

const [sdaPin, sclPin] = String(args["i2c-pins"] || "4,5").split(",").map(Number);
const buttons = {};
for (const spec of String(args.buttons || "A:15,B:14,C:13").split(",")) {
  const [name, pin] = spec.split(":");
  buttons[name] = +pin;
}
const down = new Set(); // pins held low now

// The watchdog, seen from outside: feeds, firings, the longest pass.
const dog = { fired: [], feeds: 0, lastFeed: null, longest: 0, longestAt: null, over: [], frozen: false };
const PASS_OVER = 1.0; // seconds: passes longer than this are listed
function feed(t) {
  if (dog.lastFeed !== null) {
    const gap = t - dog.lastFeed;
    if (gap > dog.longest) { dog.longest = gap; dog.longestAt = dog.lastFeed; }
    if (gap > PASS_OVER) dog.over.push([+dog.lastFeed.toFixed(3), +gap.toFixed(3)]);
  }
  dog.lastFeed = t;
  dog.feeds++;
}
let resets = [];
let dormantSince = null;
let usbWanted = !args["no-usb"];

// Actions at exact emulated times: [{at (ns), fn}] (kept across resets).
const timeline = [];
function at(whenNs, fn) {
  const item = { at: whenNs, fn, alarm: null, done: false };
  timeline.push(item);
  arm(item);
  return item;
}
function arm(item) {
  const clock = chip.sim.clock;
  item.alarm = clock.createAlarm(() => { if (!item.done) { item.done = true; item.fn(); } });
  item.alarm.schedule(Math.max(0, item.at - nanos()));
}

function setPin(pin, low) {
  if (low) down.add(pin); else down.delete(pin);
  chip.mcu.gpio[pin].setInputValue(!low);
}
function press(name, seconds) {
  const pin = buttons[name];
  if (pin === undefined) throw new Error("no button " + name);
  setPin(pin, true);
  trace("press", { button: name, hold: seconds });
  wakeFromDormant(name);
  at(nanos() + seconds * 1e9, () => { setPin(pin, false); trace("release", { button: name }); });
}
let onDark = null; // {name, delay}: press `name` `delay` s after the panel next goes dark

function wakeFromDormant(name) {
  const xosc = chip.mcu.peripherals[0x40024];
  if (!xosc.isDormant) return;
  xosc.isDormant = false;
  if (xosc.enabled) xosc.stable = true;
  trace("wake", { button: name, dormant_s: +(now() - dormantSince).toFixed(3) });
  dormantSince = null;
  const wd = chip.mcu.peripherals[0x40058];
  if (dog.frozen) { dog.frozen = false; wd.timer.enable = wd.enable && wd.tickEnable; wd.alarm.enable = wd.timer.enable; }
}

// --- one emulated chip -------------------------------------------------------------------------
function makeChip({ sram = null, scratch = null, reason = 0 } = {}) {
  const sim = new Simulator();
  const mcu = sim.rp2040;
  const c = { sim, mcu, usb: null, dataIdx: 1 };
  // rp2040js's execute() spins for ever when the core waits with no timer alarm due (no
  // time passes, Node's event loop never runs): let 1 ms pass per such step instead.
  sim.execute = function () {
    const { rp2040, clock } = this;
    this.executeTimer = null;
    this.stopped = false;
    for (let i = 0; i < 1000000 && !this.stopped; i++) {
      if (rp2040.core.waiting) {
        const n = clock.nanosToNextAlarm;
        if (n > 0) { clock.tick(n); i += n / CYCLE_NS; }
        else { clock.tick(1e6); break; }
      } else {
        clock.tick(rp2040.core.executeInstruction() * CYCLE_NS);
      }
    }
    if (!this.stopped) this.executeTimer = setTimeout(() => this.execute(), 0);
  };
  mcu.loadBootrom(bootromWords);
  c.flashEmu = emulateFlash(mcu, { onBreak: () => sim.stop() });
  mcu.logger = new ConsoleLogger(LogLevel.Error);
  modelBootselButton(mcu);
  mcu.flash.set(flash, 0);
  if (sram) mcu.sram.set(sram);

  const wd = mcu.peripherals[0x40058];
  if (scratch) wd.scratchData.set(scratch);
  wd.reason = reason;
  wd.onWatchdogTrigger = () => {
    if (wd.reason === WD_REASON_FORCE) { setImmediate(() => reset("firmware")); sim.stop(); return; }
    // A timeout: a real RP2040 resets here. Logged and counted; the run goes on.
    const t = now();
    dog.fired.push(+t.toFixed(3));
    trace("watchdog", { fired: true });
    logWrite(`\n[watchdog fired at ${t.toFixed(3)} s: a real RP2040 resets here]\n`);
    wd.alarm.enable = false;
  };
  const wdWrite = wd.writeUint32.bind(wd);
  wd.writeUint32 = (offset, value) => {
    const was = wd.enable;
    wdWrite(offset, value);
    if (offset === WD_LOAD && wd.enable) {
      feed(now());
      if (wd.tickEnable && !wd.alarm.enable && !dog.frozen) wd.alarm.enable = true; // fed after a firing
    } else if (offset === WD_CTRL && wd.enable !== was) {
      dog.lastFeed = wd.enable ? now() : null;
      trace("watchdog", { enabled: wd.enable });
    }
  };
  modelRtcAlarm(mcu);
  const xosc = mcu.peripherals[0x40024];
  const xoscWrite = xosc.writeUint32.bind(xosc);
  xosc.writeUint32 = (offset, value) => {
    xoscWrite(offset, value);
    if (offset === XOSC_DORMANT && xosc.isDormant && dormantSince === null) {
      dormantSince = now();
      trace("dormant");
      // The watchdog ticks from clk_ref, which stops with the crystal.
      if (wd.timer.enable) { dog.frozen = true; wd.timer.enable = false; wd.alarm.enable = false; }
    }
  };

  for (const bus of mcu.i2c) {
    attach(bus, { 0x68: rtc, 0x3c: oled });
    const connect = bus.onConnect, wr = bus.onWriteByte, rd = bus.onReadByte;
    bus.onConnect = (addr, mode) => { counters.i2cb++; connect(addr, mode); };
    bus.onWriteByte = (v) => { counters.i2cb++; wr(v); };
    bus.onReadByte = () => { counters.i2cb++; rd(); };
  }
  for (const pin of mcu.gpio) pin.setInputValue(true); // pulled up on the board
  attachBitbang(mcu, sdaPin, sclPin, { 0x68: rtc, 0x3c: oled });
  for (const pin of down) mcu.gpio[pin].setInputValue(false);

  c.reads = { r32: mcu.readUint32, r16: mcu.readUint16, r8: mcu.readUint8 };
  c.fsWatch = true; // until the first read of CIRCUITPY after this start
  c.brk = mcu.onBreak;
  mcu.onBreak = (code) => { xipTags.fill(-1); return c.brk(code); }; // flash ops flush the cache
  hookReads(c);
  if (usbWanted) {
    c.usb = new MultiCDC(mcu.usbCtrl);
    c.usb.onConnected = () => {
      trace("usb", { connected: true, channels: c.usb.channels.length });
      logWrite(`[usb: ${c.usb.channels.length} CDC channel(s)]\n`);
      // Two channels: console, then data; one: boot.py turned the console off.
      c.dataIdx = c.usb.channels.length > 1 ? 1 : 0;
      c.usb.channels[0].onData = (b) => logWrite(Buffer.from(b));
      const toLog = c.dataIdx === 0;
      c.usb.channels[c.dataIdx].onData = (b) => {
        if (toLog) logWrite(Buffer.from(b));
        if (dataSock) dataSock.write(Buffer.from(b));
      };
    };
  }
  const enable = usbWanted ? mcu.usbCtrl.onUSBEnabled : () => {}; // no host: nothing answers
  mcu.usbCtrl.onUSBEnabled = () => { trace("usb", { enabled: true, host: usbWanted }); enable(); };
  mcu.core.PC = 0x10000000;
  return c;
}

// The RP2040 RTC's alarm, which rp2040js leaves out (its IRQ_SETUP registers read 0):
// CircuitPython's TimeAlarm in a light sleep sets one (the pico-sdk's rtc_set_alarm), then
// spins until MATCH_ACTIVE reads 1, and wakes at the RTC interrupt. Matching is checked at
// every second of the RTC; a match raises INTR and, when enabled, IRQ 25; clearing
// MATCH_ENA clears both, as on the chip.
const RTC_IRQ_SETUP_0 = 0x10, RTC_IRQ_SETUP_1 = 0x14, RTC_INTR = 0x20, RTC_INTE = 0x24,
  RTC_INTF = 0x28, RTC_INTS = 0x2c, RTC_IRQ = 25;
const MATCH_ENA = 1 << 28, MATCH_ACTIVE = 1 << 29;
function modelRtcAlarm(mcu) {
  const r = mcu.peripherals[0x4005c];
  const st = { setup0: 0, setup1: 0, intr: 0, inte: 0, intf: 0, alarm: null };
  const read = r.readUint32.bind(r), write = r.writeUint32.bind(r);
  const date = () => new Date(r.baseline.getTime() + (r.rp2040.clock.nanos - r.baselineNanos) / 1e6);
  const irq = () => mcu.setInterrupt(RTC_IRQ, !!((st.intr & st.inte) | st.intf));
  const matches = () => {
    const d = date(), s0 = st.setup0, s1 = st.setup1;
    const field = (on, want, have) => !on || want === have;
    return field(s0 & (1 << 26), (s0 >>> 12) & 0xfff, d.getFullYear())
      && field(s0 & (1 << 25), (s0 >>> 8) & 0xf, d.getMonth() + 1)
      && field(s0 & (1 << 24), s0 & 0x1f, d.getDate())
      && field(s1 & (1 << 31), (s1 >>> 24) & 0x7, d.getDay())
      && field(s1 & (1 << 30), (s1 >>> 16) & 0x1f, d.getHours())
      && field(s1 & (1 << 29), (s1 >>> 8) & 0x3f, d.getMinutes())
      && field(s1 & (1 << 28), s1 & 0x3f, d.getSeconds());
  };
  const check = () => {
    if (!(st.setup0 & MATCH_ENA)) return;
    if (matches()) { st.intr = 1; irq(); return; }
    const ms = date().getTime();
    st.alarm.schedule((1000 - (((ms % 1000) + 1000) % 1000) || 1000) * 1e6);
  };
  st.alarm = r.rp2040.clock.createAlarm(check);
  r.readUint32 = (offset) => {
    switch (offset) {
      case RTC_IRQ_SETUP_0: return (st.setup0 & ~MATCH_ACTIVE) | (st.setup0 & MATCH_ENA ? MATCH_ACTIVE : 0);
      case RTC_IRQ_SETUP_1: return st.setup1;
      case RTC_INTR: return st.intr;
      case RTC_INTE: return st.inte;
      case RTC_INTF: return st.intf;
      case RTC_INTS: return (st.intr & st.inte) | st.intf;
      default: return read(offset);
    }
  };
  r.writeUint32 = (offset, value) => {
    switch (offset) {
      case RTC_IRQ_SETUP_0:
        st.setup0 = value & ~MATCH_ACTIVE;
        if (!(st.setup0 & MATCH_ENA)) { st.alarm.cancel(); st.intr = 0; irq(); } else check();
        return;
      case RTC_IRQ_SETUP_1: st.setup1 = value; if (st.setup0 & MATCH_ENA) check(); return;
      case RTC_INTE: st.inte = value & 1; irq(); return;
      case RTC_INTF: st.intf = value & 1; irq(); return;
      default: write(offset, value);
    }
  };
}

function start(opts) {
  chip = makeChip(opts);
  for (const item of timeline) if (!item.done) arm(item);
  chip.sim.execute();
}

function retire() {
  chip.sim.stop();
  const st = chip.flashEmu.stats;
  for (const k of Object.keys(flashTotals)) flashTotals[k] += st[k];
  flash.set(chip.mcu.flash.subarray(0, FLASH_SIZE));
  baseNanos = nanos();
  const old = chip;
  chip = null;
  return old;
}

// The firmware reset the chip (CircuitPython's reset_cpu(): the watchdog's trigger bit):
// SRAM and the watchdog's scratch registers survive it, as on the chip.
function reset(why, reason) {
  const old = retire();
  const wd = old.mcu.peripherals[0x40058];
  if (reason !== undefined) wd.reason = reason;
  if (args["no-safe-mode-wait"] && why === "firmware") wd.scratchData[WD_SCRATCH_SDK] = WATCHDOG_NON_REBOOT_MAGIC;
  resets.push({ t: +now().toFixed(6), why });
  trace("reset", { why, scratch: Array.from(wd.scratchData) });
  dormantSince = null;
  dog.lastFeed = null;
  dog.frozen = false;
  start({ sram: Uint8Array.from(old.mcu.sram), scratch: Uint32Array.from(wd.scratchData), reason: wd.reason });
}

// Power off and on: SRAM lost, the panel dark and blank, the RTC on its coin cell.
function powerCycle(usb) {
  retire();
  usbWanted = usb;
  resets.push({ t: +now().toFixed(6), why: "power" });
  trace("reset", { why: "power", usb });
  oled.ram.fill(0);
  oled.on = false;
  dormantSince = null;
  dog.lastFeed = null;
  dog.frozen = false;
  start({});
}

// --- reads of flash: XIP cache misses (--xip, `xip on|off`: a real board waits on each; the
// emulator's flash is as fast as SRAM) and the first read of CIRCUITPY after a start
// (CircuitPython mounts it after its own start, the pico-sdk's double-reset window and
// the safe-mode wait, just before boot.py). The wrapper is there only while needed.
let xipOn = !!args.xip;
const xipTags = new Int32Array(2 * MISS.sets).fill(-1), xipLru = new Uint8Array(MISS.sets);
function xipAccess(a) {
  const alias = (a >>> 24) - 0x10; // 0: cached, allocating; 1: cached; 2, 3: uncached
  if (alias >= 2) { counters.xm++; return; }
  const line = (a & 0xffffff) >>> MISS.lineShift, set = line & (MISS.sets - 1), tag = line >>> 10, i = set << 1;
  if (xipTags[i] === tag) { xipLru[set] = 1; return; }
  if (xipTags[i + 1] === tag) { xipLru[set] = 0; return; }
  counters.xm++;
  if (alias === 0) { const w = xipLru[set]; xipTags[i + w] = tag; xipLru[set] = w ^ 1; }
}
function hookReads(c) {
  const mcu = c.mcu, { r32, r16, r8 } = c.reads;
  if (!xipOn && !c.fsWatch) { mcu.readUint32 = r32; mcu.readUint16 = r16; mcu.readUint8 = r8; return; }
  const seen = (a) => {
    if (a < 0x10000000 || a >= 0x14000000) return;
    if (xipOn) xipAccess(a);
    if (c.fsWatch) {
      const o = a & 0xffffff;
      if (o >= FS_OFFSET && o < FS_OFFSET + FS_SIZE) { c.fsWatch = false; trace("fs", { first_read: true }); hookReads(c); }
    }
  };
  mcu.readUint32 = (a) => { seen(a >>> 0); return r32.call(mcu, a); };
  mcu.readUint16 = (a) => { seen(a >>> 0); return r16.call(mcu, a); };
  mcu.readUint8 = (a) => { seen(a >>> 0); return r8.call(mcu, a); };
}

// --- the panel: every frame into the trace -----------------------------------------------------
let lastRam = Buffer.from(oled.ram), lastOn = oled.on;
const oledStop = oled.stop.bind(oled);
oled.stop = () => {
  oledStop();
  const ram = Buffer.from(oled.ram);
  const changed = !ram.equals(lastRam);
  if (oled.on !== lastOn || changed) {
    const wentDark = lastOn && !oled.on;
    lastOn = oled.on;
    lastRam = ram;
    trace("oled", { on: oled.on, rtc: +(rtc.offset + now()).toFixed(6), ram: ram.toString("hex") });
    if (wentDark && onDark) {
      const p = onDark; onDark = null;
      at(nanos() + p.delay * 1e9, () => press(p.name, 0.15));
    }
  }
};

// --- the data channel and the control port -----------------------------------------------------
let dataSock = null;
const pendingToDevice = [];
setInterval(() => {
  const u = chip && chip.usb;
  if (!u || !u.connected) return;
  while (pendingToDevice.length && u.send(chip.dataIdx, [pendingToDevice[0]])) pendingToDevice.shift();
}, 2);

function crc32(buf) { // PNG's CRC (zlib.crc32 is only in newer Node releases)
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function png() {
  const rows = [];
  for (let y = 0; y < oled.h; y++) {
    const row = Buffer.alloc(1 + oled.w);
    for (let x = 0; x < oled.w; x++) row[1 + x] = oled.on && oled.pixel(x, y) ? 255 : 0;
    rows.push(row);
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(oled.w, 0); ihdr.writeUInt32BE(oled.h, 4); ihdr[8] = 8;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
}

function status() {
  const st = chip.flashEmu.stats;
  const fl = {};
  for (const k of Object.keys(flashTotals)) fl[k] = flashTotals[k] + st[k];
  return {
    sim_s: now(), display_on: oled.on, rtc: rtc.now(), rtc_exact: rtc.offset + now(),
    usb_connected: !!(chip.usb && chip.usb.connected), flash: fl,
    watchdog_fired: dog.fired, feeds: dog.feeds, longest_pass: dog.longest, longest_pass_at: dog.longestAt,
    dormant: dormantSince !== null, resets, xm: counters.xm, i2cb: counters.i2cb,
  };
}

// The longest pass since the last `passes`, and the passes over PASS_OVER; starts a new window.
function passes() {
  const t = now();
  const open = dog.lastFeed !== null ? t - dog.lastFeed : 0;
  const out = { longest: dog.longest, at: dog.longestAt, over: dog.over, feeds: dog.feeds, open, since: dog.windowStart ?? 0, until: t };
  dog.longest = 0; dog.longestAt = null; dog.over = []; dog.windowStart = t;
  return out;
}

function command(line) {
  const [cmd, a, b, c, d] = line.trim().split(/\s+/);
  if (cmd === "status") return "ok " + JSON.stringify(status());
  if (cmd === "passes") return "ok " + JSON.stringify(passes());
  if (cmd === "press" || cmd === "hold") {
    // press B [after S] | hold B SECONDS [after S]
    const hold = cmd === "hold" ? +(b || 2) : 0.15;
    const rest = cmd === "hold" ? [c, d] : [b, c];
    if (buttons[a] === undefined) throw new Error("no button " + a);
    if (rest[0] === "after") at(nanos() + +rest[1] * 1e9, () => press(a, hold));
    else press(a, hold);
    return "ok";
  }
  if (cmd === "press-after-dark") {
    if (buttons[a] === undefined) throw new Error("no button " + a);
    onDark = { name: a, delay: +(b || 2) };
    return "ok";
  }
  if (cmd === "text") return "ok\n" + oled.text() + ".";
  if (cmd === "ram") return "ok " + Buffer.from(oled.ram).toString("hex");
  if (cmd === "screen") { fs.writeFileSync(a, png()); return "ok"; }
  if (cmd === "fs-image") { fs.writeFileSync(a, chip.mcu.flash.subarray(FS_OFFSET, FS_OFFSET + FS_SIZE)); return "ok"; }
  if (cmd === "power-cycle") { powerCycle(a !== "no-usb"); return "ok"; }
  if (cmd === "fs-load") { // fs-load PATH usb|no-usb: a CIRCUITPY image in place, then power on
    const img = fs.readFileSync(a);
    if (img.length !== FS_SIZE) throw new Error("not a " + FS_SIZE + "-byte CIRCUITPY image");
    chip.mcu.flash.set(img, FS_OFFSET);
    powerCycle(b !== "no-usb");
    return "ok";
  }
  if (cmd === "xip") { // xip on|off: count XIP cache misses (this chip and the next ones)
    xipOn = a === "on";
    if (xipOn) xipTags.fill(-1);
    hookReads(chip);
    return "ok";
  }
  if (cmd === "rtc-power-loss") { rtc.powerLoss(); return "ok"; }
  if (cmd === "watchdog-reset") { // what a watchdog timeout does to a real chip
    chip.sim.stop();
    setImmediate(() => reset("watchdog timeout", 1));
    return "ok";
  }
  if (cmd === "quit") { setImmediate(() => process.exit(0)); return "ok"; }
  throw new Error("unknown command " + cmd);
}

const ready = { data: null, control: null };
const announce = () => { if (ready.data !== null && ready.control !== null) process.stdout.write(JSON.stringify(ready) + "\n"); };
const dataServer = net.createServer((s) => {
  if (dataSock) dataSock.destroy();
  dataSock = s;
  s.on("data", (d) => { for (const byte of d) pendingToDevice.push(byte); });
  s.on("close", () => { if (dataSock === s) dataSock = null; });
  s.on("error", () => {});
});
dataServer.listen(+(args.data || 0), "127.0.0.1", () => { ready.data = dataServer.address().port; announce(); });
const controlServer = net.createServer((s) => {
  let buf = "";
  s.on("data", (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      let reply;
      try { reply = command(line); } catch (e) { reply = "error " + e.message; }
      s.write(reply + "\n");
    }
  });
  s.on("error", () => {});
});
controlServer.listen(+(args.control || 0), "127.0.0.1", () => { ready.control = controlServer.address().port; announce(); });

start({});
trace("start", { rtc_offset: rtc.offset, usb: usbWanted, uf2: path.basename(args.uf2) });
