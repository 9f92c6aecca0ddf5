// RFC 4226 / 6238 codes (and Steam Guard's five characters) through WebCrypto, so the page
// checks a new account's code on the fob against its own, as `otpfob add` does.

const HASH = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512", STEAM: "SHA-1" };
const STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY";

export async function hotp(secret, counter, digits = 6, algorithm = "SHA1") {
  const key = await crypto.subtle.importKey("raw", secret,
    { name: "HMAC", hash: HASH[algorithm] }, false, ["sign"]);
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setBigUint64(0, BigInt(counter));
  const h = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
  const off = h[h.length - 1] & 0x0f;
  let value = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  if (algorithm === "STEAM") {
    let out = "";
    for (let i = 0; i < 5; i++) {
      out += STEAM_ALPHABET[value % 26];
      value = Math.floor(value / 26);
    }
    return out;
  }
  return String(value % 10 ** digits).padStart(digits, "0");
}

export const totp = (a, t) => hotp(a.secret, Math.floor(t / a.period),
  a.algorithm === "STEAM" ? 5 : a.digits, a.algorithm);

// "123 456", "1234 5678"; "-" for none.
export function groupCode(code) {
  if (!code) return "-";
  if (code.length === 6 || code.length === 7) return code.slice(0, 3) + " " + code.slice(3);
  if (code.length === 8) return code.slice(0, 4) + " " + code.slice(4);
  return code;
}

// The code in an add's reply (computed by the fob when it stored the account, between
// `before` and `after` on this computer's clock) against this computer's own
// (codecheck.verify_code): [ok (true, false, or null when nothing could check), message].
// Codes at `before` and at `after` are both taken, so a period boundary in between (the
// holder's hold) is no mismatch.
export async function verifyAdd(account, reply, before, after) {
  const got = reply.code;
  if (got === null || got === undefined) {
    if (reply.code_error === "clock_not_set" || "code" in reply) {
      return [false, "the fob's clock is not set, so its code could not be checked; set its " +
        "clock (Clock: Set clock)"];
    }
    return [null, "the fob's firmware gives no code with an add, so it was not checked"];
  }
  const codes = async (times) => new Set(await Promise.all(times.map((t) => totp(account, t))));
  const strict = await codes([before, after]);
  const near = await codes([before - 1, before, after, after + 1]);
  const mine = [...strict].sort()[0];
  if (strict.has(got)) return [true, `the fob's code ${groupCode(got)} matches`];
  const fobTime = reply.time;
  if (fobTime !== null && fobTime !== undefined) {
    // A whole-second reading t stands for somewhere in [t, t+1); the fob read it somewhere
    // in [before, after], which holds the holder's press (codecheck.clock_drift).
    const mid = fobTime + 0.5;
    const drift = mid > after ? mid - after : mid < before ? mid - before : 0;
    if (Math.abs(drift) >= 1.5) {
      return [false, `the fob's code ${groupCode(got)} differs from this computer's ` +
        `${groupCode(mine)}: the fob's clock is off by ${drift >= 0 ? "+" : ""}` +
        `${drift.toFixed(0)} s; set its clock`];
    }
  }
  if (near.has(got)) return [true, `the fob's code ${groupCode(got)} matches (within a second)`];
  return [false, `the fob's code ${groupCode(got)} differs from this computer's ` +
    `${groupCode(mine)} for the same secret`];
}
