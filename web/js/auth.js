// The management password, page side, through WebCrypto (docs/protocol.md "Password";
// host_tools/otpfob/auth.py is the reference): PBKDF2-HMAC-SHA256 turns the password into
// the 32-byte key K, the login is two nonces and an HMAC-SHA256 proof each way, a session
// key signs every later request. The password and K live only in this tab's memory.

export const ITERATIONS = 600000;       // auth.ITERATIONS
export const ITERATIONS_MIN = 10000;
export const SALT_SIZE = 16;
export const NONCE_SIZE = 16;
const enc = new TextEncoder();
const HOST_LABEL = enc.encode("otpfob host");
const FOB_LABEL = enc.encode("otpfob fob");
const WRAP_LABEL = enc.encode("otpfob wrap");
const SESSION_LABEL = enc.encode("otpfob session");
const MAC_HEAD = enc.encode(',"mac":"');
export const MAC_TAIL = MAC_HEAD.length + 64 + 2;

export class PasswordError extends Error {}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function unhex(text) {
  if (typeof text !== "string" || text.length % 2 || /[^0-9a-fA-F]/.test(text)) {
    throw new Error("the fob sent a malformed hex value");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

export function random(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function checkPassword(password) {
  if (typeof password !== "string" || !password) throw new PasswordError("the password is empty");
  if (password.length > 1024) {
    throw new PasswordError("the password is longer than 1024 characters");
  }
  return password;
}

export async function deriveKey(password, salt, iterations) {
  // NFC: the same password typed on two keyboards gives the same bytes.
  const text = enc.encode(checkPassword(password).normalize("NFC"));
  const base = await crypto.subtle.importKey("raw", text, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256);
  return new Uint8Array(bits);
}

export async function hmacSha256(key, data) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" },
    false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

const mac = (key, label, a, b) => hmacSha256(key, concat(label, a, b));
export const hostProof = (key, fobNonce, hostNonce) => mac(key, HOST_LABEL, fobNonce, hostNonce);
export const sessionKey = (key, fobNonce, hostNonce) =>
  mac(key, SESSION_LABEL, fobNonce, hostNonce);

export async function fobProofOk(key, fobNonce, hostNonce, proof) {
  const want = await mac(key, FOB_LABEL, hostNonce, fobNonce);
  let diff = want.length ^ proof.length;
  for (let i = 0; i < want.length && i < proof.length; i++) diff |= want[i] ^ proof[i];
  return diff === 0;
}

export async function wrap(currentKey, fobNonce, hostNonce, newKey) {
  const mask = await mac(currentKey, WRAP_LABEL, fobNonce, hostNonce);
  return newKey.map((b, i) => b ^ mask[i]);
}

// A request line (bytes of a JSON object, no newline) with its MAC member appended last:
// HMAC-SHA256(S, counter as 8 bytes big-endian || the line before its closing brace).
export async function signLine(session, counter, line) {
  if (line.length < 3 || line[line.length - 1] !== 0x7d) {
    throw new Error("a request line is a non-empty JSON object");
  }
  const body = line.subarray(0, line.length - 1);
  const c = new Uint8Array(8);
  new DataView(c.buffer).setBigUint64(0, BigInt(counter));
  const tag = await hmacSha256(session, concat(c, body));
  return concat(body, MAC_HEAD, enc.encode(hex(tag)), enc.encode('"}'));
}
