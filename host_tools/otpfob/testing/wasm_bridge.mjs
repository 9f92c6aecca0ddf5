// The firmware on the 32-bit WebAssembly port with the simulated board in CPython
// (otpfob.sim.bridge.run_wasm): the stand-in module (sim/mpy_stubs/simlink.py) calls
// `simlink_js.call` / `simlink_js.fill`, which move the bytes over two inherited pipes
// exactly as the unix port's stand-in does itself.
//
// argv[2] is a JSON file: {"heapsize": N, "files": {"/dest": "/host path"}, "script":
// "python source", "out_fd": N, "in_fd": N}. The script defines `tick()`; it is called
// here, from the top level, until it returns 0. This port collects garbage only when
// control is back at the top level (its GC cannot see the C stack), so each tick is one
// pass of the firmware's loop and garbage made inside a pass stays until it ends.
import { readFileSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { createRequire } from "node:module";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(process.env.OTPFOB_NODE_MODULES + "/");
const entry = require.resolve("@micropython/micropython-webassembly-pyscript/micropython.mjs");
const { loadMicroPython } = await import(entry);

const mp = await loadMicroPython({
  heapsize: spec.heapsize,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
for (const [dest, src] of Object.entries(spec.files)) {
  mp.FS.mkdirTree(dirname(dest));
  mp.FS.writeFile(dest, readFileSync(src));
}
const M = mp._module;
const head = Buffer.alloc(6);
const one = Buffer.alloc(1);
let scratch = Buffer.alloc(4096);
// Ops whose request carries `b` bytes of data (sim/bridge.py).
const WITH_DATA = new Set([0x57, 0x58, 0x4e, 0x77]);

function readFully(buf, n) {
  let got = 0;
  while (got < n) {
    const k = readSync(spec.in_fd, buf, got, n - got, null);
    if (k === 0) throw new Error("the simulator went away");
    got += k;
  }
}

function fill(addr, n) {
  if (n > scratch.length) scratch = Buffer.alloc(n);
  readFully(scratch, n);
  for (let i = 0; i < n; i++) M.setValue(addr + i, scratch[i], "i8");
  return 0;
}

function call(op, a, b, c, outAddr, inAddr, inLen) {
  head[0] = op; head[1] = a;
  head.writeUInt16LE(b, 2); head.writeUInt16LE(c, 4);
  writeSync(spec.out_fd, head);
  if (b && outAddr && WITH_DATA.has(op)) {
    const out = Buffer.alloc(b);
    for (let i = 0; i < b; i++) out[i] = M.getValue(outAddr + i, "i8") & 0xff;
    writeSync(spec.out_fd, out);
  }
  readFully(one, 1);
  if (one[0]) return one[0];
  if (inLen) fill(inAddr, inLen);
  return 0;
}

mp.registerJsModule("simlink_js", { call, fill });
try {
  mp.runPython(spec.script);
  const tick = mp.globals.get("tick");
  // The longest passes (host milliseconds, with the pipe round trips they make).
  const slow = [];
  for (;;) {
    const t0 = performance.now();
    const more = tick();
    const ms = performance.now() - t0;
    if (slow.length < 5 || ms > slow[slow.length - 1]) {
      slow.push(ms);
      slow.sort((a, b) => b - a);
      slow.length = Math.min(slow.length, 5);
    }
    if (!more) break;
  }
  mp.runPython("finish()");
  process.stdout.write("SLOWEST " + slow.map((ms) => ms.toFixed(1)).join(" ") + "\n");
} catch (err) {
  process.stderr.write(String(err.message || err) + "\n");
  process.exit(1);
}
