// Wire protocol 2 (the draft that follows docs/protocol.md's version 1): every place the
// page behaves differently for it is here, so the page's client (protocol.js) and screens
// ask this module instead of testing version numbers themselves. A fob says its version
// in `info.protocol`; version-1 fobs keep working.

const CHECK_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALGORITHMS = ["SHA1", "SHA256", "SHA512", "STEAM"];
const enc = new TextEncoder();

export const isV2 = (info) => !!info && Number(info.protocol) >= 2;

// How the holder says yes: a 1.5 s hold of A on protocol 2, a press of A before.
export function yesGesture(info, buttons) {
  if (isV2(info)) return "Hold A until the bar fills to say yes; a tap says no.";
  if (buttons && buttons.length === 1) return "A long press of A says yes, a short one no.";
  return "A says yes, B says no.";
}

// The prompt's lines (protocol 2 sends a title line, then fields, joined with "\n").
export const promptLines = (prompt) => String(prompt || "").split("\n").filter((l) => l !== "");

async function sha1(data) {
  return new Uint8Array(await crypto.subtle.digest("SHA-1", data));
}

function join(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

// The bytes of one account in the check value: u8(len I) I u8(len N) N u8(len S) S
// u8(alg) u8(digits) u32be(period) u8(kind) u32be(counter). `secret` is the decoded bytes.
export function checkBytes(account) {
  const issuer = enc.encode(account.issuer || "");
  const name = enc.encode(account.name || "");
  const secret = account.secret;
  const hotp = account.type === "hotp";
  return join([[issuer.length], issuer, [name.length], name, [secret.length], secret,
    [ALGORITHMS.indexOf(account.algorithm)], [account.digits], u32(account.period),
    [hotp ? 1 : 0], u32(hotp ? account.counter || 0 : 0)].map((p) => Uint8Array.from(p)));
}

function show(h) {
  const top = (h[0] << 12) | (h[1] << 4) | (h[2] >> 4);     // the top 20 bits
  let out = "";
  for (let shift = 15; shift >= 0; shift -= 5) out += CHECK_ALPHABET[(top >> shift) & 31];
  return out.slice(0, 2) + "-" + out.slice(2);
}

// The check value the fob shows with an add / an import's last part: "XX-XX".
export async function accountsCheck(accounts) {
  let h = await sha1(enc.encode("otpfob check"));
  for (const a of accounts) h = await sha1(join([h, checkBytes(a)]));
  return show(h);
}

// ... and with a password_set, over the new 32-byte key.
export async function passwordCheck(key) {
  const h = await sha1(enc.encode("otpfob check"));
  return show(await sha1(join([h, enc.encode("password"), key])));
}

// A staged import's batch id: random, chosen here, carried by every part (a version-1 fob
// ignores the key, as it ignores every key it does not know).
export function batchId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

// HOTP accounts go only to a fob that lists "hotp" in info.types.
export const takesHotp = (info) => !!info && Array.isArray(info.types) &&
  info.types.includes("hotp");

// Protocol 2's add reply carries the new account's code; version 1 needs a `code` request.
export const codeInAddReply = (reply) => reply && Object.prototype.hasOwnProperty.call(reply, "code");

// Wrong tries since the last right login (auth and auth_begin replies on protocol 2).
export const failedTries = (reply) => (reply && Number.isInteger(reply.failed) ? reply.failed : 0);

// Before a login, a protocol-2 fob with a password tells only who it is.
export const INFO_BEFORE_LOGIN = ["protocol", "firmware", "serial", "board", "display",
  "buttons", "capabilities", "algorithms", "max_line", "limits", "password", "logged_in"];
export const infoIsPartial = (info) => isV2(info) && info.password && !info.logged_in &&
  !("accounts" in info);

// Errors protocol 2 adds, worded for the person at the page.
export const ERROR_HINTS = {
  locked: "the fob's login is locked after 8 wrong passwords in a row",
  cooldown: "the fob refuses new questions for a while after one went unanswered",
  busy: "the fob is asking its holder something else; answer it first",
};
