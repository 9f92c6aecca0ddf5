// Google Authenticator exports (otpauth-migration://offline?data=<base64 protobuf>): the
// page's reader, held to host_tools/otpfob/migration.py by tests/web's shared corpus.
//   MigrationPayload: 1 otp_parameters (repeated), 2 version, 3 batch_size, 4 batch_index,
//                     5 batch_id
//   OtpParameters:    1 secret, 2 name, 3 issuer, 4 algorithm, 5 digits, 6 type, 7 counter
import * as py from "./pytext.js";
import { OtpauthError, makeAccount } from "./otpauth.js";

const SCHEME = "otpauth-migration";
const ALGORITHM_FROM_ENUM = { 0: "SHA1", 1: "SHA1", 2: "SHA256", 3: "SHA512", 4: "MD5" };
const DIGITS_FROM_ENUM = { 0: 6, 1: 6, 2: 8 };
const TYPE_HOTP = 1n;
const TYPE_TOTP = 2n;
const MAX_PARTS = 1000;
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

export class MigrationError extends OtpauthError {}

function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new MigrationError("export data is truncated (inside a number)");
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new MigrationError("export data is corrupt (number too long)");
  }
}

function littleEndian(bytes) {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

// [[field, wire, value]] of one message; value is a BigInt or bytes.
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = key >> 3n;
    const wire = Number(key & 7n);
    if (field === 0n) throw new MigrationError("export data is corrupt (field number 0)");
    let value;
    if (wire === VARINT) {
      [value, pos] = readVarint(buf, pos);
    } else if (wire === LEN) {
      let length;
      [length, pos] = readVarint(buf, pos);
      if (BigInt(pos) + length > BigInt(buf.length)) {
        throw new MigrationError(`export data is truncated (field ${field})`);
      }
      value = buf.slice(pos, pos + Number(length));
      pos += Number(length);
    } else if (wire === I64 || wire === I32) {
      const n = wire === I64 ? 8 : 4;
      if (pos + n > buf.length) throw new MigrationError(`export data is truncated (field ${field})`);
      value = littleEndian(buf.slice(pos, pos + n));
      pos += n;
    } else {
      throw new MigrationError(`export data is corrupt (wire type ${wire})`);
    }
    out.push([field, wire, value]);
  }
  return out;
}

function text(value, what) {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(value);
  } catch (err) {
    throw new MigrationError(`export data is corrupt (${what} is not UTF-8)`);
  }
}

function decodeOtp(buf) {
  const e = { secret: new Uint8Array(0), name: "", issuer: "", algorithm: 0n, digits: 0n, type: 0n,
    counter: 0n };
  for (const [field, wire, value] of fields(buf)) {
    if (field === 1n && wire === LEN) e.secret = value;
    else if (field === 2n && wire === LEN) e.name = text(value, "name");
    else if (field === 3n && wire === LEN) e.issuer = text(value, "issuer");
    else if (field === 4n && wire === VARINT) e.algorithm = value;
    else if (field === 5n && wire === VARINT) e.digits = value;
    else if (field === 6n && wire === VARINT) e.type = value;
    else if (field === 7n && wire === VARINT) e.counter = value;
  }
  return e;
}

const entryLabel = (e) => (e.issuer ? `${e.issuer}:${e.name}` : e.name);

// An account, or a string saying why this entry cannot go on the fob.
function toAccount(e) {
  const lbl = entryLabel(e) || "(unnamed)";
  if (e.type !== 0n && e.type !== TYPE_TOTP && e.type !== TYPE_HOTP) {
    return `${lbl}: unknown OTP type ${e.type}`;
  }
  const algorithm = e.algorithm <= 4n ? ALGORITHM_FROM_ENUM[Number(e.algorithm)] : undefined;
  if (algorithm === undefined || algorithm === "MD5") {
    return `${lbl}: algorithm ${algorithm || e.algorithm} is not supported`;
  }
  const digits = e.digits <= 2n ? DIGITS_FROM_ENUM[Number(e.digits)] : undefined;
  if (digits === undefined) return `${lbl}: unknown digits value ${e.digits}`;
  let name = py.strip(e.name);
  let issuer = py.strip(e.issuer);
  // The app keeps "Issuer:account" in name when it has both.
  if (name.includes(":")) {
    const prefix = name.slice(0, name.indexOf(":"));
    const rest = name.slice(name.indexOf(":") + 1);
    if (!issuer || py.strip(prefix) === issuer) {
      issuer = issuer || py.strip(prefix);
      name = py.strip(rest);
    }
  }
  const hotp = e.type === TYPE_HOTP;
  try {
    return makeAccount(name, e.secret, { issuer, algorithm, digits, period: 30,
      kind: hotp ? "hotp" : "totp", counter: hotp ? e.counter : 0 });
  } catch (err) {
    if (err instanceof OtpauthError) return `${lbl}: ${err.message}`;
    throw err;
  }
}

export function decodePayload(data) {
  const entries = [];
  let version = 0n;
  let batchSize = 0n;
  let batchIndex = 0n;
  let batchId = 0n;
  for (const [field, wire, value] of fields(data)) {
    if (field === 1n && wire === LEN) entries.push(decodeOtp(value));
    else if (field === 2n && wire === VARINT) version = value;
    else if (field === 3n && wire === VARINT) batchSize = value;
    else if (field === 4n && wire === VARINT) batchIndex = value;
    else if (field === 5n && wire === VARINT) batchId = value >= 1n << 63n ? value - (1n << 64n) : value;
  }
  const accounts = [];
  const skipped = [];
  for (const e of entries) {
    const r = toAccount(e);
    if (typeof r === "string") skipped.push(r);
    else accounts.push(r);
  }
  return { accounts, skipped, version, batchSize: batchSize || 1n, batchIndex, batchId };
}

export const isMigrationUri = (t) => py.strip(t).toLowerCase().startsWith(SCHEME + ":");

export function payloadBytes(uri) {
  uri = py.strip(uri);
  let parts;
  try {
    parts = py.urlsplit(uri);
  } catch (err) {
    throw new MigrationError("not a valid export URI: " + err.message);
  }
  if (parts.scheme !== SCHEME) {
    throw new MigrationError("not a Google Authenticator export (otpauth-migration://)");
  }
  if (parts.netloc.toLowerCase() !== "offline") {
    throw new MigrationError("export URI must be otpauth-migration://offline?data=...");
  }
  const params = {};
  for (const [k, v] of py.parseQsl(parts.query)) params[k] = v;
  let data = py.strip(params.data || "").replace(/ /g, "+");
  if (!data) throw new MigrationError("export URI has no data parameter");
  data = data.replace(/-/g, "+").replace(/_/g, "/");
  data += "=".repeat((4 - (data.length % 4)) % 4);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || /={1,2}$/.test(data) && data.length % 4) {
    throw new MigrationError("export data is not valid base64");
  }
  let bin;
  try {
    bin = atob(data);
  } catch (err) {
    throw new MigrationError("export data is not valid base64");
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export const decodeUri = (uri) => decodePayload(payloadBytes(uri));

function joinNumbers(numbers) {
  const s = numbers.map(String);
  return s.length === 1 ? s[0] : s.slice(0, -1).join(", ") + " and " + s[s.length - 1];
}

// Accounts from several export QR codes; refuses an incomplete multi-code export.
export function merge(payloads) {
  const batches = new Map();
  for (const p of payloads) {
    if (p.batchSize > BigInt(MAX_PARTS)) {
      throw new MigrationError(`export claims ${p.batchSize} QR codes; at most ${MAX_PARTS} ` +
        "are read");
    }
    const key = p.batchId.toString();
    if (!batches.has(key)) batches.set(key, { size: p.batchSize, parts: new Map() });
    const batch = batches.get(key);
    if (p.batchSize !== batch.size) {
      throw new MigrationError("export parts disagree on the number of QR codes " +
        `(${batch.size} vs ${p.batchSize})`);
    }
    if (!(p.batchIndex >= 0n && p.batchIndex < p.batchSize)) {
      throw new MigrationError(`export part ${p.batchIndex + 1n} of ${p.batchSize} is out of range`);
    }
    batch.parts.set(p.batchIndex.toString(), p);
  }
  const accounts = [];
  const skipped = [];
  for (const batch of batches.values()) {
    const size = Number(batch.size);
    const missing = [];
    for (let i = 0; i < size; i++) if (!batch.parts.has(String(i))) missing.push(i + 1);
    if (missing.length) {
      const have = [...batch.parts.keys()].map((k) => Number(k) + 1).sort((a, b) => a - b);
      throw new MigrationError(`incomplete export: have QR code${have.length > 1 ? "s" : ""} ` +
        `${joinNumbers(have)} of ${size}, missing ${joinNumbers(missing)}; scan every code ` +
        "of the export and import them together");
    }
    for (let i = 0; i < size; i++) {
      const p = batch.parts.get(String(i));
      accounts.push(...p.accounts);
      skipped.push(...p.skipped);
    }
  }
  return [accounts, skipped];
}
