// Many accounts at once, read as `otpfob import` reads them (host_tools/otpfob/importers:
// collect, uri_list, google, and cli/importer's plan_import): otpauth:// and steam://
// lines and Google Authenticator exports (otpauth-migration://, merged across their QR
// codes), from text and from QR images, in the order given. An entry the fob cannot hold
// is skipped with one line saying where it came from and why; identical entries count
// once; two different secrets under one label are a conflict naming both places. Then
// what the fob would do with each account (add, replace, skip, refuse).
// tests/web/test_parsers_shared_corpus.py holds this to the Python on one corpus.
import * as py from "./pytext.js";
import { OtpauthError, isSteam, label, parseSteam, parseUri, replaceAccount,
  steamRule } from "./otpauth.js";
import { MigrationError, decodeUri, isMigrationUri, merge } from "./migration.js";

export class ImportError extends Error {}

export const NO_HOTP = "this fob's firmware shows no HOTP codes (update it with `otpfob deploy`)";
const EXPORT = "Google Authenticator export";

// An entry that did not come across: importers.Skip.
export class Skip {
  constructor(lbl, where, reason) {
    this.label = lbl || "(unnamed)";
    this.where = where;
    this.reason = reason;
  }

  line() {
    return `${this.label} (${this.where}): ${this.reason}`;
  }
}

// The label part of an otpauth:// URI, for naming a URI that cannot be used; never the
// secret (importers.base.uri_label).
function uriLabel(text) {
  let parts;
  try {
    parts = py.urlsplit(text);
  } catch (err) {
    return "";
  }
  if (parts.scheme.toLowerCase() !== "otpauth") return "";
  return [...py.unquote(py.lstrip(parts.path, "/"))].slice(0, 80).join("");
}

// What the sources hold, as they are read (importers.base.Found).
export class Found {
  constructor(asTotp = false) {
    this.items = [];        // [account, where]
    this.skipped = [];      // Skip
    this.notices = [];
    this.payloads = [];     // [export part, where], merged at the end
    this.sequence = [];     // ["item", index] and ["export", null], in the order read
    this.asTotp = asTotp;
  }

  uri(text, where, name = null, issuer = null) {
    text = py.strip(text || "");
    let account;
    try {
      if (isSteam(text)) {
        account = parseSteam(text, name || null, issuer);
      } else {
        account = parseUri(text, this.asTotp);
        if (issuer && !account.issuer) account = replaceAccount(account, { issuer });
      }
    } catch (err) {
      if (!(err instanceof OtpauthError)) throw err;
      this.skip(uriLabel(text) || [issuer, name].filter((p) => p).join(":") || null, where,
        err.message);
      return null;
    }
    return this.keep(account, where);
  }

  keep(account, where) {
    account = steamRule(account, this.asTotp);
    this.sequence.push(["item", this.items.length]);
    this.items.push([account, where]);
    return account;
  }

  export(payload, where) {
    this.sequence.push(["export", null]);
    this.payloads.push([payload, where]);
  }

  skip(lbl, where, reason) {
    this.skipped.push(new Skip(lbl, where, reason));
  }
}

// A text file's lines worth reading: [line number, text] (uri_list.lines).
export function lines(text) {
  const out = [];
  splitLines(text).forEach((raw, i) => {
    const line = py.lstrip(py.strip(raw), "\ufeff");
    if (line && !line.startsWith("#")) out.push([i + 1, line]);
  });
  return out;
}

// One URI: a line, a QR code's text, a pasted one (uri_list.take).
export function take(found, text, where) {
  if (isMigrationUri(text)) {
    try {
      found.export(decodeUri(text), where);
    } catch (err) {
      if (!(err instanceof MigrationError)) throw err;
      found.skip(EXPORT, where, err.message);
    }
    return;
  }
  found.uri(text, where);
}

const SCHEMES = ["otpauth:", "otpauth-migration:", "steam://"];

// Text this page reads itself, as otpfob's importers would read it: a list of URIs (its
// first line one, uri_list.detect) or a Google Authenticator export's text (any line one,
// google.detect), and no JSON or XML, which other apps' formats are. Anything else goes
// to otpfob's own importers on the local server.
export function readsItself(text) {
  const start = py.strip(text.replace(/^\ufeff/, "")).slice(0, 1);
  if (["{", "[", "<"].includes(start)) return false;
  const found = lines(text);
  if (!found.length) return false;
  if (SCHEMES.some((s) => found[0][1].toLowerCase().startsWith(s))) return true;
  return found.some(([, l]) => l.toLowerCase().startsWith("otpauth-migration:"));
}

// Everything the sources hold, as importers.collect gives it: {items: [[account, where]],
// skipped: [Skip], notices: [text], conflicts: [[label, [where...]]]}. `sources`:
//   {kind: "text", where, text, encoding}  a file's text (or pasted text), a URI a line
//   {kind: "qr", where, texts}        the codes of one image
//   {kind: "read", items, skipped, notices, conflicts}  a file otpfob's importers read
// An incomplete Google Authenticator export stops the whole import (ImportError).
export function collect(sources, asTotp = false) {
  const found = new Found(asTotp);
  const notices = [];
  const conflicts = [];
  for (const s of sources) {
    if (s.kind === "text") {
      for (const [n, line] of lines(s.text)) take(found, line, `${s.where} line ${n}`);
      if (s.encoding === "Latin-1") notices.push(latin1Notice(s.where));
    } else if (s.kind === "qr") {
      s.texts.forEach((t, i) => take(found, t, `${s.where} QR ${i + 1}`));
    } else if (s.kind === "read") {
      for (const [a, where] of s.items) found.keep(a, where);
      found.skipped.push(...s.skipped);
      notices.push(...s.notices);
      conflicts.push(...s.conflicts);
    } else {
      throw new Error("unknown source kind " + s.kind);
    }
  }
  let exported = [];
  if (found.payloads.length) {
    let accounts;
    let skipped;
    try {
      [accounts, skipped] = merge(found.payloads.map(([p]) => p));
    } catch (err) {
      if (err instanceof OtpauthError) throw new ImportError(err.message);
      throw err;
    }
    const where = new Map();
    for (const [p, w] of found.payloads) for (const a of p.accounts) where.set(a, w);
    for (const note of skipped) {
      const at = note.indexOf(": ");
      found.skip(at < 0 ? note : note.slice(0, at), EXPORT, at < 0 ? note : note.slice(at + 2));
    }
    exported = accounts.map((a) => [steamRule(a, asTotp), where.get(a) || EXPORT]);
  }
  const items = [];
  for (const [kind, i] of found.sequence) {
    if (kind === "item") items.push(found.items[i]);
    else {
      items.push(...exported);
      exported = [];
    }
  }
  const out = { items: [], skipped: found.skipped, notices, conflicts };
  dedupe(items, out);
  out.notices.push(...found.notices);
  return out;
}

const identity = (a) => a.issuer.toLowerCase() + "\n" + a.name.toLowerCase();

function same(a, b) {
  return a.secret.length === b.secret.length && a.secret.every((x, i) => x === b.secret[i]) &&
    ["algorithm", "digits", "period", "kind", "counter", "issuer", "name"]
      .every((k) => a[k] === b[k]);
}

function joinWords(words) {
  if (words.length <= 1) return words.join("");
  return words.slice(0, -1).join(", ") + " and " + words[words.length - 1];
}

// Identical entries count once (with a notice); different entries under one label are
// conflicts, named with every place they came from, and none of them is kept.
function dedupe(items, out) {
  const seen = new Map();
  const repeats = new Map();
  const conflicts = new Map();
  for (const [account, where] of items) {
    const key = identity(account);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, [account, where]);
      continue;
    }
    if (same(first[0], account) && !conflicts.has(key)) {
      if (!repeats.has(key)) repeats.set(key, [label(first[0]), first[1]]);
      repeats.get(key).push(where);
      continue;
    }
    if (!conflicts.has(key)) conflicts.set(key, [label(first[0]), first[1]]);
    conflicts.get(key).push(where);
  }
  for (const [key, [lbl, first, ...more]] of repeats) {
    if (!conflicts.has(key)) {
      out.notices.push(`${lbl} appears ${more.length + 1} times with the same secret ` +
        `(${first} and ${joinWords(more)}); counted once`);
    }
  }
  for (const [lbl, ...wheres] of conflicts.values()) {
    out.conflicts.push([lbl, wheres.filter((w, i) => wheres.indexOf(w) === i)]);
  }
  for (const [key, item] of seen) if (!conflicts.has(key)) out.items.push(item);
}

// The lines `otpfob import` prints before it goes on: each account's fix-ups, the notes
// about the import as a whole, and one line per entry skipped.
export function warningLines(collected) {
  const out = [];
  for (const [a, where] of collected.items) {
    for (const w of a.warnings) out.push(`${label(a)} (${where}): ${w}`);
  }
  out.push(...collected.notices);
  for (const s of collected.skipped) out.push("skipped " + s.line());
  return out;
}

export const conflictText = (conflicts) =>
  conflicts.map(([lbl, wheres]) => `${lbl} (${wheres.join(" and ")})`).join("; ");

// str.splitlines' line ends.
export const splitLines = (text) => {
  const parts = text.split(/\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (parts.length && parts[parts.length - 1] === "") parts.pop();
  return parts;
};

// What an import would do to each account (cli/importer.plan_import): add, replace (when
// `replace`), skip (already on the fob with `skipExisting`, or HOTP on a fob without it)
// or refuse (already on the fob without either, or no room left), in the order given.
export function planImport(items, existing, capacity, replace, skipExisting = false,
  hotp = true) {
  const present = new Map(existing.map((e) =>
    [(e.issuer || "").toLowerCase() + "\n" + e.name.toLowerCase(), e]));
  let room = capacity === null || capacity === undefined ? null : capacity - existing.length;
  return items.map(([a, where]) => {
    const row = { label: label(a), account: a, where: where || "" };
    const onFob = present.get(identity(a));
    if (a.kind === "hotp" && !hotp) {
      [row.action, row.reason] = ["skip", NO_HOTP];
    } else if (onFob) {
      row.index = onFob.index + 1;
      if (replace) row.action = "replace";
      else if (skipExisting) [row.action, row.reason] = ["skip", "already on the fob (leave them)"];
      else [row.action, row.reason] = ["refuse", "already on the fob"];
    } else if (room !== null && room <= 0) {
      [row.action, row.reason] = ["refuse", "the fob is full"];
    } else {
      row.action = "add";
      if (room !== null) room -= 1;
    }
    return row;
  });
}

// Text files as tools save them: UTF-16 with a BOM, UTF-8, else Latin-1 (textfile.decode).
// Returns [text, encoding], or null for binary data.
export function decodeText(bytes) {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    try {
      return [new TextDecoder(bytes[0] === 0xff ? "utf-16le" : "utf-16be", { fatal: true })
        .decode(bytes.subarray(2)), "UTF-16"];
    } catch (err) {
      return null;
    }
  }
  try {
    return [new TextDecoder("utf-8", { fatal: true }).decode(bytes), "UTF-8"];
  } catch (err) {
    if (bytes.includes(0)) return null;
    return [Array.from(bytes, (b) => String.fromCharCode(b)).join(""), "Latin-1"];
  }
}

export const latin1Notice = (where) =>
  `${where} is not UTF-8; read it as Latin-1 (save it as UTF-8 if names look wrong)`;

const IMAGE_MAGIC = [[0x89, 0x50, 0x4e, 0x47], [0xff, 0xd8, 0xff], [0x47, 0x49, 0x46, 0x38],
  [0x42, 0x4d]];

// Pictures the browser decodes (PNG, JPEG, GIF, BMP, WebP); a TIFF goes to the server.
export function isImage(bytes) {
  if (String.fromCharCode(...bytes.subarray(0, 4)) === "RIFF" &&
      String.fromCharCode(...bytes.subarray(8, 12)) === "WEBP") return true;
  return IMAGE_MAGIC.some((m) => m.every((b, i) => bytes[i] === b));
}
