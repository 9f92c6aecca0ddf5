// Runs a MicroPython script on the 32-bit WebAssembly port.
// argv[2] is a JSON file: {"heapsize": N, "files": {"/dest/path.py": "/host/path.py"},
// "script": "python source"}. Files land in the port's in-memory filesystem.
import { readFileSync } from "node:fs";
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
try {
  mp.runPython(spec.script);
} catch (err) {
  process.stderr.write(String(err.message || err) + "\n");
  process.exit(1);
}
