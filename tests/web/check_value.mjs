// The page's check values (web/js/check.js) for tests/web/test_check_value.py:
// argv[2] is JSON {"batches": [[account...]...], "keys": [hex...]}, secrets in hex.
import { readFileSync } from "node:fs";
import { accountsCheck, passwordCheck } from "../../web/js/check.js";

const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16));
const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const batches = await Promise.all(spec.batches.map((b) =>
  accountsCheck(b.map((a) => ({ ...a, secret: unhex(a.secret) })))));
const keys = await Promise.all(spec.keys.map((k) => passwordCheck(unhex(k))));
process.stdout.write(JSON.stringify({ batches, keys }));
