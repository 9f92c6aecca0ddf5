// The page's parsers over a corpus (tests/web/test_parsers_shared_corpus.py): argv[2] is a
// JSON file {"uris": [...], "exports": [[uri, ...], ...], "imports": [[{where, text}], ...]};
// prints the results in the shape the test builds from otpfob's Python parsers.
import { readFileSync } from "node:fs";
import { parseUri } from "../../web/js/otpauth.js";
import { decodeUri, merge } from "../../web/js/migration.js";
import { collect, warningLines } from "../../web/js/importer.js";

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const account = (a) => ({ name: a.name, issuer: a.issuer, secret: hex(a.secret),
  algorithm: a.algorithm, digits: a.digits, period: a.period, kind: a.kind,
  counter: a.counter });

function guard(fn) {
  try {
    return fn();
  } catch (err) {
    if (err && err.constructor && /Error$/.test(err.constructor.name) &&
        err.constructor.name !== "Error" && err.constructor.name !== "TypeError") {
      return { error: err.message };
    }
    return { crash: String(err && err.stack || err) };
  }
}

const corpus = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = {
  uris: corpus.uris.map((u) => guard(() => {
    const a = parseUri(u);
    return { account: account(a), warnings: a.warnings };
  })),
  exports: corpus.exports.map((uris) => guard(() => {
    const [accounts, skipped] = merge(uris.map(decodeUri));
    return { accounts: accounts.map(account), skipped };
  })),
  imports: corpus.imports.map((files) => guard(() => {
    const got = collect(files.map((f) => ({ kind: "text", where: f.where, text: f.text })));
    return { accounts: got.items.map(([a, where]) => ({ ...account(a), where })),
      lines: warningLines(got), conflicts: got.conflicts };
  })),
};
process.stdout.write(JSON.stringify(out));
