// The page's code check after an add (web/js/totp.js verifyAdd) for
// tests/web/test_verify_add.py: argv[2] is JSON [{account, reply, before, after}...], the
// account's secret in hex. Prints [[ok, message]...].
import { readFileSync } from "node:fs";
import { verifyAdd } from "../../web/js/totp.js";

const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16));
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = [];
for (const c of cases) {
  out.push(await verifyAdd({ ...c.account, secret: unhex(c.account.secret) }, c.reply,
    c.before, c.after));
}
process.stdout.write(JSON.stringify(out));
