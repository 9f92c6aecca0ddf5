// Many accounts at once, as `otpfob import` reads them (cli/importer.py): otpauth:// and
// steam:// lines, Google Authenticator exports (otpauth-migration://, merged across their
// QR codes), from text and from QR images, in the order given; then what the fob would
// do with each (add, replace, refuse).
import * as py from "./pytext.js";
import { OtpauthError, label, parseUri } from "./otpauth.js";
import { decodeUri, isMigrationUri, merge } from "./migration.js";

export class ImportError extends Error {}

// `sources`: [{where, lines: [text...], kind: "text" | "qr" | "uri"}]. Returns
// [accounts, warnings]; a bad line stops the whole import with an error naming it.
export function readSources(sources) {
  const warnings = [];
  const payloads = [];
  const order = [];
  const take = (text, where) => {
    text = py.strip(text);
    if (!text || text.startsWith("#")) return;
    try {
      if (isMigrationUri(text)) {
        payloads.push(decodeUri(text));
        order.push(null);
      } else {
        const account = parseUri(text);
        for (const w of account.warnings) warnings.push(`${where}: ${w}`);
        order.push(account);
      }
    } catch (err) {
      if (err instanceof OtpauthError) throw new ImportError(`${where}: ${err.message}`);
      throw err;
    }
  };
  for (const s of sources) {
    if (s.kind === "uri") take(s.lines[0], "URI");
    else if (s.kind === "qr") s.lines.forEach((t, i) => take(t, `${s.where} QR ${i + 1}`));
    else splitLines(s.lines[0]).forEach((t, i) => take(t, `${s.where} line ${i + 1}`));
  }
  let exported;
  let skipped;
  try {
    [exported, skipped] = merge(payloads);
  } catch (err) {
    if (err instanceof OtpauthError) throw new ImportError(err.message);
    throw err;
  }
  for (const note of skipped) warnings.push(`skipped ${note}`);
  const accounts = [];
  let exportsPlaced = false;
  for (const a of order) {
    if (a) accounts.push(a);
    else if (!exportsPlaced) {
      // Exports are merged as a whole (a batch spans several codes): put them in once.
      accounts.push(...exported);
      exportsPlaced = true;
    }
  }
  return [accounts, warnings];
}

// str.splitlines' line ends.
export const splitLines = (text) => {
  const lines = text.split(/\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
};

export function duplicates(accounts) {
  const seen = new Set();
  for (const a of accounts) {
    const key = a.issuer.toLowerCase() + "\n" + a.name.toLowerCase();
    if (seen.has(key)) throw new ImportError(`${label(a)} appears twice in the import`);
    seen.add(key);
  }
}

// What an import would do to each account (cli/importer.plan_import).
export function planImport(accounts, existing, capacity, force) {
  const present = new Map(existing.map((e) =>
    [(e.issuer || "").toLowerCase() + "\n" + e.name.toLowerCase(), e]));
  let room = capacity === null || capacity === undefined ? null : capacity - existing.length;
  return accounts.map((a) => {
    const row = { label: label(a), account: a };
    const onFob = present.get(a.issuer.toLowerCase() + "\n" + a.name.toLowerCase());
    if (onFob) {
      row.index = onFob.index + 1;
      if (force) row.action = "replace";
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

// Text files as tools save them: UTF-8, UTF-16 with a BOM, else Latin-1 (with a warning).
export function decodeText(bytes, where, warnings) {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    warnings.push(`${where} is not UTF-8; read it as Latin-1 (save it as UTF-8 if names look wrong)`);
    return Array.from(bytes, (b) => String.fromCharCode(b)).join("");
  }
}

const IMAGE_MAGIC = [[0x89, 0x50, 0x4e, 0x47], [0xff, 0xd8, 0xff], [0x47, 0x49, 0x46, 0x38],
  [0x42, 0x4d]];

export function isImage(bytes) {
  if (String.fromCharCode(...bytes.subarray(0, 4)) === "RIFF" &&
      String.fromCharCode(...bytes.subarray(8, 12)) === "WEBP") return true;
  return IMAGE_MAGIC.some((m) => m.every((b, i) => bytes[i] === b));
}

// Text the page reads itself: lines of URIs. Anything else (a CSV, JSON or encrypted
// export of another app) goes to otpfob's own importers on the local server.
export function looksLikeUriList(text) {
  return splitLines(text).every((line) => {
    const t = py.strip(line);
    return !t || t.startsWith("#") || /^(otpauth|otpauth-migration|steam):/i.test(t);
  });
}
