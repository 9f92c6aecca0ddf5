// The fob on the page: the real firmware on MicroPython's WebAssembly port, in a worker so
// that a long reply (codes for 200 accounts) never stalls the page. The firmware's
// board/busio/digitalio/usb_cdc/microcontroller/time are otpfob's stand-in module
// (simlink.py), whose two calls land here and are answered by the chip models, the
// buttons and the data channel, exactly as otpfob's simulator bridge answers them.
//
// Messages in: start {options}, data {bytes}, link {up}, pin {name, down}, status,
// fault {device, on}, save, stop. Messages out: ready, frame {image, on}, data {bytes}, status {value}, state
// {files}, console {line}, error {message}.
import { loadMicroPython } from "../vendor/micropython.mjs";
import { Bus, I2CError } from "./i2c.js";
import { DS3231 } from "./ds3231.js";
import { SSD1306 } from "./ssd1306.js";

const OP_WRITE = 0x57;
const OP_READ = 0x52;
const OP_WRITE_READ = 0x58;
const OP_PIN = 0x50;
const OP_PIN_NAME = 0x4e;
const OP_SLEEP = 0x53;
const OP_DATA_WAITING = 0x41;
const OP_DATA_READ = 0x72;
const OP_DATA_WRITE = 0x77;
const OP_UID = 0x55;
const PULL_UP = 1;
const MODULES = ["board", "busio", "digitalio", "usb_cdc", "microcontroller", "time"];
const LOOP_MS = 20;      // fob/app.py's LOOP_SLEEP
const SAVE_MS = 1000;

let mp = null;
let M = null;
let us = 0;                     // the fob's monotonic time, moved by its sleeps
let worldBase = 0;              // the world's epoch when `us` was 0
const worldNow = () => worldBase + us / 1e6;
const bus = new Bus();
const rtc = bus.attach(0x68, new DS3231(worldNow));
const panel = bus.attach(0x3c, new SSD1306(128, 64));
const pinNames = [];
const down = new Set();         // pins held low (a pressed button)
let rx = new Uint8Array(0);     // host -> fob bytes not read yet
let rest = null;                // the part of a reply that fill() hands over
let uid = new Uint8Array(8);
let lastFrame = -1;
let lastSaved = "";
let lastSave = 0;
let running = false;
let linkUp = false;             // a page holds the data channel open (DTR)

function bytesAt(addr, n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = M.getValue(addr + i, "i8") & 0xff;
  return out;
}

function put(addr, bytes) {
  for (let i = 0; i < bytes.length; i++) M.setValue(addr + i, bytes[i], "i8");
}

function answer(op, a, b, c, outAddr) {
  switch (op) {
    case OP_SLEEP:
      us += b | (c << 16);
      return [0];
    case OP_PIN: {
      const name = pinNames[a];
      return [down.has(name) ? 0 : b === PULL_UP ? 1 : 0];
    }
    case OP_WRITE:
      bus.write(a, bytesAt(outAddr, b));
      return [];
    case OP_READ:
      return bus.read(a, c);
    case OP_WRITE_READ:
      return bus.writeThenRead(a, bytesAt(outAddr, b), c);
    case OP_DATA_WAITING:
      return [Math.min(rx.length, 0xffff) & 0xff, Math.min(rx.length, 0xffff) >> 8];
    case OP_DATA_READ: {
      const got = rx.slice(0, c);
      rx = rx.slice(got.length);
      return [got.length & 0xff, got.length >> 8, ...got];
    }
    case OP_DATA_WRITE:
      postMessage({ type: "data", bytes: bytesAt(outAddr, b) });
      return [];
    case OP_PIN_NAME: {
      const name = new TextDecoder().decode(bytesAt(outAddr, b));
      if (!pinNames.includes(name)) pinNames.push(name);
      return [pinNames.indexOf(name)];
    }
    case OP_UID:
      return uid;
    default:
      throw new Error("unknown request 0x" + op.toString(16));
  }
}

// simlink.py's _call: the status is the return value, the reply's first inLen bytes go
// to inAddr now and the rest to the fill() that follows (a data read's bytes).
function call(op, a, b, c, outAddr, inAddr, inLen) {
  let reply;
  try {
    reply = Uint8Array.from(answer(op, a, b, c, outAddr));
  } catch (err) {
    if (err instanceof I2CError) return err.errno;
    throw err;
  }
  const now = reply.subarray(0, inLen);
  if (inLen) put(inAddr, now);
  rest = reply.length > inLen ? reply.subarray(inLen) : null;
  return 0;
}

function fill(addr, n) {
  const src = rest || new Uint8Array(0);
  put(addr, src.subarray(0, n));
  rest = src.length > n ? src.subarray(n) : null;
  return 0;
}

function sendFrame() {
  if (panel.version === lastFrame) return;
  lastFrame = panel.version;
  postMessage({ type: "frame", image: panel.image(), on: panel.displayOn });
}

function stateFiles() {
  const files = {};
  for (const name of mp.FS.readdir("/state")) {
    if (name === "." || name === "..") continue;
    files[name] = Array.from(mp.FS.readFile("/state/" + name));
  }
  return files;
}

function saveState(force) {
  const t = performance.now();
  if (!force && t - lastSave < SAVE_MS) return;
  lastSave = t;
  const state = { files: stateFiles(), rtc: rtc.toState(), uid: Array.from(uid) };
  const text = JSON.stringify(state.files) + JSON.stringify(state.rtc.regs);
  if (!force && text === lastSaved) return;
  lastSaved = text;
  postMessage({ type: "state", state });
}

let tick = null;
let last = 0;

function loop() {
  if (!running) return;
  const t = performance.now();
  const dt = Math.min(Math.max(t - last, 0), 5000) / 1000;
  last = t;
  let more;
  try {
    more = tick(dt);
  } catch (err) {
    running = false;
    postMessage({ type: "error", message: String(err.message || err) });
    return;
  }
  sendFrame();
  saveState(false);
  setTimeout(loop, more === 0 || more === 2 ? 0 : LOOP_MS);
}

async function start(options) {
  mp = await loadMicroPython({
    heapsize: options.heapsize || 2 * 1024 * 1024,
    stdout: (line) => postMessage({ type: "console", line }),
    stderr: (line) => postMessage({ type: "console", line }),
  });
  M = mp._module;
  const base = new URL("./py/", import.meta.url);
  const manifest = await (await fetch(new URL("manifest.json", base))).json();
  await Promise.all(manifest.files.map(async (path) => {
    const res = await fetch(new URL(path, base));
    if (!res.ok) throw new Error("cannot load " + path + " (" + res.status + ")");
    const dest = "/lib/" + path;
    mp.FS.mkdirTree(dest.slice(0, dest.lastIndexOf("/")));
    mp.FS.writeFile(dest, new Uint8Array(await res.arrayBuffer()));
  }));
  mp.FS.mkdirTree("/state");
  const saved = options.state || null;
  worldBase = Date.now() / 1000;
  if (saved && saved.files) {
    for (const [name, bytes] of Object.entries(saved.files)) {
      mp.FS.writeFile("/state/" + name, Uint8Array.from(bytes));
    }
  }
  if (saved && saved.rtc) rtc.fromState(saved.rtc);
  if (saved && saved.uid) uid = Uint8Array.from(saved.uid);
  else crypto.getRandomValues(uid);
  if (options.clock) rtc.setEpoch(Date.now() / 1000);
  mp.registerJsModule("simlink_js", { call, fill });
  const lines = ["import sys", "sys.path[:0] = ['/lib']", "import simlink", "import simlink_js",
    "simlink.open_js(simlink_js)", "del simlink_js", "simlink.data = simlink"];
  for (const name of MODULES) lines.push(`sys.modules[${JSON.stringify(name)}] = simlink`);
  mp.runPython(lines.join("\n") + "\n" + new TextDecoder().decode(mp.FS.readFile("/lib/run.py")));
  if (options.demo) {
    const d = options.demo;
    mp.globals.get("seed")(d.name, d.issuer, d.secretHex, Math.floor(rtc.epoch()));
  }
  mp.globals.get("link")(linkUp);
  tick = mp.globals.get("tick");
  running = true;
  last = performance.now();
  postMessage({ type: "ready" });
  loop();
}

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === "start") {
    start(msg.options || {}).catch((err) => {
      postMessage({ type: "error", message: String(err.message || err) });
    });
  } else if (msg.type === "data") {
    const joined = new Uint8Array(rx.length + msg.bytes.length);
    joined.set(rx, 0);
    joined.set(msg.bytes, rx.length);
    rx = joined;
  } else if (msg.type === "link") {
    linkUp = msg.up;
    if (tick) mp.globals.get("link")(linkUp);
  } else if (msg.type === "pin") {
    if (msg.down) down.add(msg.name);
    else down.delete(msg.name);
  } else if (msg.type === "status") {
    const value = tick && mp ? JSON.parse(mp.globals.get("status")()) : null;
    postMessage({ type: "status", id: msg.id, value });
  } else if (msg.type === "fault") {
    if (msg.on) bus.faults.add(msg.address);
    else bus.faults.delete(msg.address);
  } else if (msg.type === "save") {
    if (mp) saveState(true);
  } else if (msg.type === "stop") {
    running = false;
  }
};
