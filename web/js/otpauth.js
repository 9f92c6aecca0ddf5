// otpauth:// URIs (the Key URI Format every authenticator app reads), steam:// secrets and
// base32 text: the page's reader, held to host_tools/otpfob/otpauth.py (same accounts,
// same fix-ups, same messages) by tests/web's shared corpus. Messages never repeat a
// secret: at most the one offending character and its position.
import * as py from "./pytext.js";

export const ALGORITHMS = ["SHA1", "SHA256", "SHA512", "STEAM"];
const DIGITS = [6, 7, 8];
const STEAM_DIGITS = 5;
const DEFAULT_PERIOD = 30;
const MIN_PERIOD = 1;
const MAX_PERIOD = 86400;
const MAX_LABEL = 64;
const MIN_SECRET = 2;
const MAX_SECRET = 128;
const STEAM_SCHEME = "steam://";
export const STEAM_ISSUER = "Steam";
export const STEAM_NAME = "Steam Guard";
const WEAK_SECRET = 10;
const KINDS = ["totp", "hotp"];
const MAX_COUNTER = 0xffffffff;
export const STEAM_GUESS = "issuer is Steam but the URI has no encoder=steam: treated as a " +
  "Steam Guard account (5 characters); --as-totp keeps it a plain TOTP account";
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BAD_TAIL = [1, 3, 6];
const LOOKALIKE = { 0: "O", 1: "I or L", 8: "B" };

export class OtpauthError extends Error {}

export function checkLabel(what, text) {
  if (typeof text !== "string" || !py.strip(text)) throw new OtpauthError(`${what} is empty`);
  if (py.utf8Length(text) > MAX_LABEL) {
    throw new OtpauthError(`${what} is longer than ${MAX_LABEL} bytes`);
  }
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (cp < 0x20 || cp === 0x7f) {
      throw new OtpauthError(`${what} contains a control character (code ${cp})`);
    }
  }
  return text;
}

export function normalizeAlgorithm(text) {
  const name = py.strip(String(text)).toUpperCase().replace(/-/g, "");
  if (!ALGORITHMS.includes(name)) {
    throw new OtpauthError(`algorithm must be one of ${ALGORITHMS.join(", ")}, not ` +
      py.repr(String(text)));
  }
  return name;
}

// One account as the page knows it before it goes to the fob (otpauth.Account): time-based
// (kind "totp", Steam Guard included) or counter-based (kind "hotp", with the counter of
// its next code). Checked in the order Account.validate checks, with its messages.
export function makeAccount(name, secret, { issuer = "", algorithm = "SHA1", digits = 6,
  period = 30, warnings = [], kind = "totp", counter = 0 } = {}) {
  const a = { name, issuer: issuer || "", secret: Uint8Array.from(secret),
    algorithm: normalizeAlgorithm(algorithm), digits: Number(digits), period: Number(period),
    warnings: [...warnings], kind: String(kind).toLowerCase(), counter };
  checkLabel("name", a.name);
  if (a.issuer) checkLabel("issuer", a.issuer);
  if (!a.secret.length) throw new OtpauthError("secret is empty");
  if (a.secret.length < MIN_SECRET || a.secret.length > MAX_SECRET) {
    throw new OtpauthError(`secret must be ${MIN_SECRET} to ${MAX_SECRET} bytes once ` +
      `decoded, not ${a.secret.length}`);
  }
  const weak = `secret is only ${8 * a.secret.length} bits`;
  if (a.secret.length < WEAK_SECRET && !a.warnings.some((w) => w.startsWith(weak))) {
    a.warnings.push(weak + "; 80 or more is usual");
  }
  if (a.algorithm === "STEAM") {
    a.digits = STEAM_DIGITS;
  } else if (!DIGITS.includes(a.digits)) {
    throw new OtpauthError(`digits must be 6, 7 or 8, not ${digits}`);
  }
  if (!(a.period >= MIN_PERIOD && a.period <= MAX_PERIOD)) {
    throw new OtpauthError(`period must be between ${MIN_PERIOD} and ${MAX_PERIOD} seconds, ` +
      `not ${period}`);
  }
  if (!KINDS.includes(a.kind)) {
    throw new OtpauthError(`type must be totp or hotp, not ${py.repr(a.kind)}`);
  }
  if (a.kind === "hotp") {
    if (a.algorithm === "STEAM") {
      throw new OtpauthError("Steam Guard codes are time-based; an HOTP account cannot be " +
        "Steam");
    }
    if (!(counter >= 0 && counter <= MAX_COUNTER)) {
      throw new OtpauthError(`counter must be between 0 and ${MAX_COUNTER}, not ${counter}`);
    }
    a.counter = Number(counter);
  } else {
    a.counter = 0;
  }
  return a;
}

// Account.replace: a copy with some fields changed, checked again.
export const replaceAccount = (a, changes) => makeAccount(changes.name ?? a.name,
  changes.secret ?? a.secret, { issuer: a.issuer, algorithm: a.algorithm, digits: a.digits,
    period: a.period, warnings: a.warnings, kind: a.kind, counter: a.counter, ...changes });

// Steam Guard exports often say only issuer=Steam (otpauth.steam_rule): a SHA-1, 30 s
// TOTP account whose issuer is Steam is taken as Steam Guard, with a warning, unless
// `asTotp`.
export function steamRule(a, asTotp = false) {
  if (asTotp || a.kind !== "totp" || a.algorithm !== "SHA1" || a.period !== DEFAULT_PERIOD ||
      py.strip(a.issuer).toLowerCase() !== "steam") return a;
  return replaceAccount(a, { algorithm: "STEAM", digits: STEAM_DIGITS,
    warnings: [...a.warnings, STEAM_GUESS] });
}

export const label = (a) => (a.issuer ? `${a.issuer}:${a.name}` : a.name);

// Base32 as people paste it: any case, spaces or dashes between groups, padding optional.
export function decodeSecret(text) {
  if (typeof text !== "string") throw new OtpauthError("secret must be text");
  const cleaned = [];
  let pos = 0;
  for (const ch of text) {
    pos += 1;
    if (" \t-".includes(ch)) continue;
    const up = ch.toUpperCase();
    if (up === "=") {
      cleaned.push("=");
      continue;
    }
    if (up.length !== 1 || !B32.includes(up)) {
      const hint = LOOKALIKE[ch];
      const shown = py.isPrintable(ch) ? py.repr(ch)
        : "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
      let msg = `secret is not valid base32: character ${shown} at position ${pos}`;
      msg += hint ? ` (did you mean ${hint}?)` : " (base32 uses only A-Z and 2-7)";
      throw new OtpauthError(msg);
    }
    if (cleaned.length && cleaned[cleaned.length - 1] === "=") {
      throw new OtpauthError("secret is not valid base32: padding '=' in the middle");
    }
    cleaned.push(up);
  }
  const body = cleaned.join("").replace(/=+$/, "");
  if (body.includes("=")) {
    throw new OtpauthError("secret is not valid base32: padding '=' in the middle");
  }
  if (!body) throw new OtpauthError("secret is empty");
  if (BAD_TAIL.includes(body.length % 8)) {
    throw new OtpauthError(`secret is not valid base32: ${body.length} characters cannot be ` +
      "a whole number of bytes (a character missing or extra?)");
  }
  let bits = 0;
  let nbits = 0;
  const out = [];
  for (const ch of body) {
    bits = ((bits << 5) | B32.indexOf(ch)) & 0xffff;
    nbits += 5;
    if (nbits >= 8) {
      nbits -= 8;
      out.push((bits >> nbits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

export function base32Encode(data, padding = false) {
  let bits = 0;
  let nbits = 0;
  let out = "";
  for (const b of data) {
    bits = ((bits << 8) | b) & 0xffff;
    nbits += 8;
    while (nbits >= 5) {
      nbits -= 5;
      out += B32[(bits >> nbits) & 31];
    }
  }
  if (nbits) out += B32[(bits << (5 - nbits)) & 31];
  if (padding && out.length % 8) out += "=".repeat(8 - (out.length % 8));
  return out;
}

function intParam(params, key, fallback) {
  if (!(key in params)) return fallback;
  const raw = py.strip(params[key]);
  const n = py.toInt(raw);
  if (n === null) throw new OtpauthError(`${key} must be a whole number, not ${py.repr(raw)}`);
  return n;
}

export const isSteam = (text) => typeof text === "string" &&
  py.strip(text).toLowerCase().startsWith(STEAM_SCHEME);

export function parseSteam(text, name = null, issuer = null) {
  if (!isSteam(text)) throw new OtpauthError("a Steam secret must start with steam://");
  const body = py.strip(text).slice(STEAM_SCHEME.length).replace(/\/+$/, "");
  if (body.includes("?") || body.includes("/")) {
    throw new OtpauthError("steam:// takes only a base32 secret (no path or parameters)");
  }
  let secret;
  try {
    secret = decodeSecret(body);
  } catch (err) {
    if (err instanceof OtpauthError) throw new OtpauthError("steam:// " + err.message);
    throw err;
  }
  return makeAccount(name || STEAM_NAME, secret, {
    issuer: issuer === null ? STEAM_ISSUER : issuer, algorithm: "STEAM", digits: STEAM_DIGITS });
}

// An otpauth://totp/ or otpauth://hotp/ URI (or a steam:// secret) -> account; `warnings`
// lists the fix-ups. An issuer=Steam URI without encoder=steam is read as Steam Guard
// (steamRule) unless `asTotp`.
export function parseUri(uri, asTotp = false) {
  if (typeof uri !== "string") throw new OtpauthError("URI must be text");
  uri = py.strip(uri);
  if (isSteam(uri)) return parseSteam(uri);
  let parts;
  try {
    parts = py.urlsplit(uri);
  } catch (err) {
    throw new OtpauthError("not a valid URI: " + err.message);
  }
  if (parts.scheme !== "otpauth") {
    if (parts.scheme === "otpauth-migration") {
      throw new OtpauthError("this is a Google Authenticator export; use `otpfob import`");
    }
    const urlLike = parts.scheme && uri.slice(parts.scheme.length).startsWith("://");
    throw new OtpauthError("URI must start with otpauth:// or steam://" +
      (urlLike && parts.scheme.length <= 20 ? `, not ${parts.scheme}://` : ""));
  }
  const kind = parts.netloc.toLowerCase();
  if (kind !== "totp" && kind !== "hotp" && kind !== "steam") {
    const named = py.isAlpha(parts.netloc) && [...parts.netloc].length <= 6;
    throw new OtpauthError("URI type must be totp or hotp" +
      (named ? `, not ${py.repr(parts.netloc)}` : " (otpauth://totp/...)"));
  }
  const warnings = [];
  const params = {};
  for (const [k, value] of py.parseQsl(parts.query)) {
    const key = k.toLowerCase();
    if (key in params && params[key] !== value) {
      throw new OtpauthError(`parameter ${py.repr(key)} is given twice with different values`);
    }
    params[key] = value;
  }
  const raw = py.lstrip(parts.path, "/");
  if (!py.strip(raw)) {
    throw new OtpauthError("URI has no account name (otpauth://totp/Issuer:account?...)");
  }
  // Split on a literal colon, else an encoded one, before decoding.
  let prefix = "";
  let name = raw;
  if (raw.includes(":")) {
    prefix = raw.slice(0, raw.indexOf(":"));
    name = raw.slice(raw.indexOf(":") + 1);
  } else if (raw.toLowerCase().includes("%3a")) {
    const at = raw.toLowerCase().indexOf("%3a");
    prefix = raw.slice(0, at);
    name = raw.slice(at + 3);
  }
  prefix = py.strip(py.unquote(prefix));
  name = py.strip(py.unquote(name));
  let issuer = py.strip(params.issuer || "");
  if (issuer && prefix && issuer !== prefix) {
    warnings.push(`issuer parameter ${py.repr(issuer)} differs from the label prefix ` +
      `${py.repr(prefix)}; using ${py.repr(issuer)}`);
  }
  issuer = issuer || prefix;
  if (!name) throw new OtpauthError("URI has an empty account name");
  if (!("secret" in params)) throw new OtpauthError("URI has no secret parameter");
  const secret = decodeSecret(params.secret);
  let algorithm = py.strip(params.algorithm === undefined ? "SHA1" : params.algorithm) || "SHA1";
  algorithm = normalizeAlgorithm(algorithm);
  const encoder = py.strip(params.encoder || "").toLowerCase();
  if (kind === "steam" || encoder === "steam") {
    if (kind === "hotp") {
      throw new OtpauthError("Steam Guard codes are time-based; an otpauth://hotp/ URI " +
        "cannot carry encoder=steam");
    }
    algorithm = "STEAM";
  } else if (encoder) {
    throw new OtpauthError(`unknown encoder ${py.repr(encoder)} (only steam is known)`);
  }
  if (kind === "hotp") {
    if (!("counter" in params)) {
      throw new OtpauthError("an otpauth://hotp/ URI needs a counter parameter");
    }
    const counter = intParam(params, "counter", 0);
    if (!(counter >= 0 && counter <= MAX_COUNTER)) {
      throw new OtpauthError(`counter must be between 0 and ${MAX_COUNTER}, not ${counter}`);
    }
    const digits = intParam(params, "digits", 6);
    if (!DIGITS.includes(digits)) throw new OtpauthError(`digits must be 6, 7 or 8, not ${digits}`);
    return makeAccount(name, secret, { issuer, algorithm, digits, warnings, kind: "hotp",
      counter });
  }
  let digits;
  if (algorithm === "STEAM") {
    digits = intParam(params, "digits", STEAM_DIGITS);
    if (digits !== STEAM_DIGITS) {
      warnings.push(`Steam codes always have 5 characters; digits=${digits} ignored`);
    }
    digits = STEAM_DIGITS;
  } else {
    digits = intParam(params, "digits", 6);
    if (!DIGITS.includes(digits)) {
      throw new OtpauthError(`digits must be 6, 7 or 8, not ${digits}`);
    }
  }
  const period = intParam(params, "period", DEFAULT_PERIOD);
  if (!(period >= MIN_PERIOD && period <= MAX_PERIOD)) {
    throw new OtpauthError(`period must be between ${MIN_PERIOD} and ${MAX_PERIOD} seconds, ` +
      `not ${period}`);
  }
  return steamRule(makeAccount(name, secret, { issuer, algorithm, digits, period, warnings }),
    asTotp);
}
