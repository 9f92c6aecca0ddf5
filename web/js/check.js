// Check values (docs/protocol.md "Check values"): the "Check: K7-3F" line the fob draws
// under the question of an add, an import's last part and a new password. The fob never
// sends it; the page works it out from what it sent and shows it, so the holder can tell
// that the question on the fob is about this page's change and not another program's.
// host_tools/otpfob/check.py is the CLI's; tests/web/test_check_value.py holds this one
// to the protocol's definition.

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALGORITHMS = ["SHA1", "SHA256", "SHA512", "STEAM"];
const enc = new TextEncoder();

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

// One account's bytes in the chain: u8(len I) I u8(len N) N u8(len S) S u8(alg)
// u8(digits) u32be(period) u8(kind) u32be(counter), HOTP with period 0; `secret` is the
// decoded bytes.
function accountBytes(a) {
  const issuer = enc.encode(a.issuer || "");
  const name = enc.encode(a.name || "");
  const hotp = a.kind === "hotp" || a.type === "hotp";
  return join([[issuer.length], issuer, [name.length], name, [a.secret.length], a.secret,
    [ALGORITHMS.indexOf(a.algorithm)], [a.algorithm === "STEAM" ? 5 : a.digits],
    u32(hotp ? 0 : a.period), [hotp ? 1 : 0], u32(hotp ? a.counter || 0 : 0)]
    .map((p) => Uint8Array.from(p)));
}

// The top 20 bits of the chain, as the fob draws them: "XX-XX".
function shown(h) {
  const top = (h[0] << 12) | (h[1] << 4) | (h[2] >> 4);
  let out = "";
  for (let shift = 15; shift >= 0; shift -= 5) out += ALPHABET[(top >> shift) & 31];
  return out.slice(0, 2) + "-" + out.slice(2);
}

// The value the fob shows with an add, or an import's last part (every account of the
// batch, in the order sent).
export async function accountsCheck(accounts) {
  let h = await sha1(enc.encode("otpfob check"));
  for (const a of accounts) h = await sha1(join([h, accountBytes(a)]));
  return shown(h);
}

// ... and with a password_set, over the new 32-byte key.
export async function passwordCheck(key) {
  const h = await sha1(enc.encode("otpfob check"));
  return shown(await sha1(join([h, enc.encode("password"), key])));
}
