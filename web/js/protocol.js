// The fob's protocol (docs/protocol.md, version 2), page side: JSON lines, one request and
// one reply, matched by id; the questions the fob asks its holder, with the check value
// this page expects beside them; the login (two nonces, the fob's proof checked, retried
// when another program asked for a challenge meanwhile) and its signed session; password
// changes; staged imports that belong to this page by their batch token. The one client
// the page's screens use; host_tools/otpfob/client.py is the reference, and errors read
// as the CLI's do (cli/util.py).
import * as auth from "./auth.js";
import { accountsCheck, passwordCheck } from "./check.js";
import { base32Encode } from "./otpauth.js";

export const PROTOCOL = 2;     // the wire protocol this page speaks; older firmware is refused
export const MAX_LINE = 2048;
const LOGIN_TRIES = 3;         // auth_begin + auth, again when another program took the challenge
const enc = new TextEncoder();
const dec = new TextDecoder();

export class FobError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// The fix the CLI names after a fob's error when the message does not (cli/util.py's
// _FOB_HINTS, with the page's own controls named).
const HINTS = {
  clock_not_set: "set the clock (Clock: Set clock, or `otpfob time set`)",
  clock_fault: "check the wiring between the board and the DS3231; the fob tries again " +
    "by itself",
  no_password: "Password: Set password gives the fob one",
  full: "deleting accounts makes room",
  unknown_command: "update the fob's firmware with `otpfob deploy`",
  cooldown: "answer on the fob when it asks, or log in first",
  busy: "answer the question on the fob (B says no) and try again",
};

export function explain(err) {
  if (!(err instanceof FobError)) return String(err && err.message || err);
  let hint = HINTS[err.code];
  if (err.code === "locked" && /a login asks/.test(err.message)) {
    hint = "Log in again: the fob then asks its holder to allow 8 more tries (a hold of A)";
  }
  if (hint && !err.message.includes(hint) && !/otpfob /.test(err.message)) {
    return err.message + "; " + hint;
  }
  return err.message;
}

export const encode = (message) => enc.encode(JSON.stringify(message));

// True when the fob's info lists "hotp" in "types": only then may HOTP accounts be sent.
export const takesHotp = (info) => !!info && Array.isArray(info.types) &&
  info.types.includes("hotp");

// A fob with a password tells a host that has not logged in only what a login needs.
export const infoIsPartial = (info) => !!info && !!info.password && !info.logged_in &&
  !("accounts" in info);

// The refusal of a fob that speaks an older protocol (as the CLI words it).
export function checkProtocol(hello) {
  const version = hello && hello.protocol;
  if (Number.isInteger(version) && version < PROTOCOL) {
    throw new FobError("old_firmware", `fob ${hello.serial || "?"} runs older firmware ` +
      `(protocol ${version}; this page speaks ${PROTOCOL}): update it with \`otpfob deploy\``);
  }
  return hello;
}

export class FobClient {
  constructor(transport, timeout = 5) {
    this.transport = transport;
    this.timeout = timeout;
    // A reply still in flight from an earlier, interrupted session must not match.
    this.nextId = 1 + Math.floor(Math.random() * (1 << 20));
    this.roundTrips = 0;
    // (prompt, seconds, {cmd, check}) while the fob asks its holder; `check` is the check
    // value the fob shows beside the question (null when it shows none).
    this.onPrompt = null;
    this.onAnswered = null;      // () when that question is over
    this.onFailedTries = null;   // (n) when a login finds wrong tries since the last right one
    this.passwordProvider = null; // async (client) => password or null
    // (hello) before a login the fob asked for: who the fob is now (main.js stops at one
    // that lost its password, known.js).
    this.onHello = null;
    this.login_ = null;          // [K, fob nonce, host nonce] after a login
    this.session = null;         // [session key, counter of the next request]
    this.queue = Promise.resolve();
    this.info = null;            // the last info reply
  }

  get loggedIn() {
    return this.session !== null;
  }

  async close() {
    if (this.session) {
      try { await this.raw("logout", {}, 2); } catch (err) { /* the fob ends it too */ }
      this.session = null;
      this.login_ = null;
    }
    await this.transport.close();
  }

  // One request at a time: the page's buttons may fire while one is out. `check`: the
  // check value the fob shows if it asks its holder about this request.
  request(cmd, params = {}, { timeout = null, check = null } = {}) {
    return this.serial(() => this.requestWithLogin(cmd, params, timeout, check));
  }

  serial(run) {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  async requestWithLogin(cmd, params, timeout, check) {
    try {
      return await this.raw(cmd, params, timeout, check);
    } catch (err) {
      if (!(err instanceof FobError) || err.code !== "auth_required" || !this.passwordProvider ||
          cmd === "auth_begin" || cmd === "auth") throw err;
    }
    // The session ended, or there was none: ask who the fob is before a password goes to it
    // (a fob erased meanwhile has none).
    const hello = checkProtocol(await this.raw("hello", {}));
    if (this.onHello) this.onHello(hello);
    if (!hello.password) {
      throw new FobError("no_password", "the fob has no password any more, so no login; it " +
        "may have been reset");
    }
    const password = await this.passwordProvider(this);
    if (password === null || password === undefined) {
      throw new FobError("auth_required", "this fob is protected by a password: log in first");
    }
    await this.doLogin(password);
    return this.raw(cmd, params, timeout, check);
  }

  async raw(cmd, params, timeout = null, check = null) {
    const rid = this.nextId++;
    let line = encode({ id: rid, cmd, ...params });
    const signed = this.session !== null;
    if (signed) {
      line = await auth.signLine(this.session[0], this.session[1], line);
      this.session[1] += 1;
    }
    await this.transport.writeLine(line);
    this.roundTrips++;
    let wait = timeout === null ? this.timeout : timeout;
    let deadline = performance.now() + wait * 1000;
    let asked = false;
    try {
      for (;;) {
        const left = (deadline - performance.now()) / 1000;
        const raw = left > 0 ? await this.transport.readLine(left) : null;
        if (raw === null) {
          if (this.transport.closed) {
            throw new FobError("timeout", "lost the connection to the fob");
          }
          throw new FobError("timeout", `no reply from the fob within ${wait} s (is it the ` +
            "data channel, and is the firmware running?)");
        }
        let reply;
        try {
          reply = JSON.parse(dec.decode(raw));
        } catch (err) {
          continue;   // boot messages, a half line from before we connected
        }
        if (!reply || typeof reply !== "object" || reply.id !== rid) continue;
        if (reply.pending === "presence") {
          // The fob's own timeout decides: wait for the final answer a little longer.
          let t = reply.timeout;
          t = typeof t === "number" && t > 0 && t < 600 ? t : 30;
          deadline = Math.max(deadline, performance.now() + (t + 5) * 1000);
          wait = Math.max(wait, t + 5);
          asked = true;
          if (this.onPrompt) {
            this.onPrompt(String(reply.prompt || ""), t, { cmd, check: reply.check ? check : null });
          }
          continue;
        }
        if (reply.ok === true) return reply;
        let error = reply.error;
        if (!error || typeof error !== "object") {
          error = { message: error ? String(error) : `the fob refused ${cmd}` };
        }
        if (signed && error.code === "auth_required") {
          // The session ended (idle, port closed, another login): a new login replaces it.
          this.session = null;
          this.login_ = null;
        }
        throw new FobError(String(error.code || "error"),
          String(error.message || `the fob refused ${cmd}`));
      }
    } finally {
      if (asked && this.onAnswered) this.onAnswered();
    }
  }

  // --- one method per command ------------------------------------------------------------
  // Who the fob is; refuses a fob that speaks an older protocol.
  async hello() {
    return checkProtocol(await this.request("hello"));
  }

  async getInfo() {
    this.info = checkProtocol(await this.request("info"));
    return this.info;
  }

  timeGet() { return this.request("time_get"); }

  // Without a press the fob lets its clock move 120 s in all between pressed sets; a
  // larger move, one while its clock is not set, or `force` waits for a press.
  timeSet(epoch, force = false) {
    const params = { time: Math.floor(epoch) };
    if (force) params.force = true;
    return this.request("time_set", params);
  }

  agingGet() { return this.request("aging_get"); }
  agingSet(aging) { return this.request("aging_set", { aging: aging | 0 }); }

  // One account; the reply carries its code at the fob's time (`code`, `time`) so the add
  // is checked without a `code` request (an HOTP add gets none).
  async add(account, overwrite = false) {
    return this.request("add", { ...accountFields(account), overwrite: !!overwrite },
      { check: await accountsCheck([account]) });
  }

  // An all-or-nothing import in as few add_many parts as the line limit allows, written
  // to flash once at the last part. The batch is this page's: every part carries its
  // token, which the fob never sends back. `progress(done, total)` follows the parts. On
  // any failure nothing is stored, and `abort` drops what the fob may still hold.
  async addStaged(accounts, overwrite = false, maxLine = MAX_LINE, progress = null,
    batchMax = null) {
    // In batches of at most the fob's limits.batch_max, each a question of its own; a
    // failure in a later batch leaves the earlier ones stored (err.stored says how many).
    const size = batchMax || accounts.length || 1;
    if (accounts.length > size) {
      const sum = { added: 0, replaced: 0, indexes: [], warnings: [] };
      let sent = 0;
      for (let at = 0; at < accounts.length; at += size) {
        let got;
        try {
          got = await this.addStaged(accounts.slice(at, at + size), overwrite, maxLine,
            progress);
        } catch (err) {
          err.stored = sum.added + sum.replaced;
          throw err;
        }
        sent += got[0];
        sum.added += got[1].added || 0;
        sum.replaced += got[1].replaced || 0;
        sum.indexes.push(...(got[1].indexes || []));
        sum.warnings.push(...(got[1].warnings || []));
      }
      return [sent, sum];
    }
    const parts = splitBatches(accounts, overwrite, maxLine);
    const batch = auth.hex(auth.random(16));
    const check = await accountsCheck(accounts);
    const warnings = [];
    let reply = {};
    try {
      for (let n = 0; n < parts.length; n++) {
        if (progress) progress(n, parts.length);
        reply = await this.request("add_many", {
          accounts: parts[n].map(accountFields), overwrite: !!overwrite, part: n,
          stage: n < parts.length - 1, batch,
        }, { timeout: Math.max(this.timeout, 30), check });
        warnings.push(...(reply.warnings || []));
      }
    } catch (err) {
      try { await this.request("abort", { batch }); } catch (e) { /* dropped by itself too */ }
      throw err;
    }
    if (progress) progress(parts.length, parts.length);
    reply.warnings = warnings;
    return [parts.length, reply];
  }

  list() { return this.request("list"); }

  // By issuer and name (safe even if the list changed meanwhile), or by index.
  delete(target) {
    if (target.name !== undefined) {
      return this.request("delete", { issuer: target.issuer || "", name: target.name });
    }
    return this.request("delete", { index: target.index | 0 });
  }

  rename(index, name, issuer = null) {
    const params = { index: index | 0, name };
    if (issuer !== null) params.issuer = issuer;
    return this.request("rename", params);
  }

  // Codes leave the fob with its holder's press (one for the whole request), unless the
  // holder turned usb_codes on.
  code(index = null) {
    if (index === null) return this.request("code", { all: true }, { timeout: Math.max(this.timeout, 20) });
    return this.request("code", { index: index | 0 });
  }

  // Erases the accounts and the password; the fob ends the session with them.
  async reset() {
    const reply = await this.request("reset", { confirm: true }, { timeout: Math.max(this.timeout, 30) });
    this.session = null;
    this.login_ = null;
    return reply;
  }

  selftest() { return this.request("selftest", {}, { timeout: Math.max(this.timeout, 30) }); }
  settingsGet() { return this.request("settings_get"); }
  settingsSet(settings) { return this.request("settings_set", settings); }

  // --- the management password -------------------------------------------------------------
  login(password) {
    return this.serial(() => this.doLogin(password));
  }

  async doLogin(password) {
    auth.checkPassword(password);
    // A session this client may still hold is stale or about to be replaced.
    this.session = null;
    this.login_ = null;
    let begin;
    let key;
    let hostNonce;
    let reply;
    for (let attempt = 0; ; attempt++) {
      // A fob whose logins stopped after wrong tries asks its holder first.
      begin = await this.raw("auth_begin", {}, Math.max(this.timeout, 40));
      key = await auth.deriveKey(password, auth.unhex(begin.salt), begin.iterations);
      hostNonce = auth.random(auth.NONCE_SIZE);
      const fobNonce = auth.unhex(begin.challenge);
      try {
        reply = await this.raw("auth", {
          fob_challenge: begin.challenge,
          challenge: auth.hex(hostNonce),
          response: auth.hex(await auth.hostProof(key, fobNonce, hostNonce)),
        });
        break;
      } catch (err) {
        // Another program asked for a challenge meanwhile: nothing was counted.
        if (!(err instanceof FobError) || err.code !== "no_challenge" ||
            attempt >= LOGIN_TRIES - 1) throw err;
      }
    }
    const fobNonce = auth.unhex(begin.challenge);
    if (!(await auth.fobProofOk(key, fobNonce, hostNonce, auth.unhex(reply.response)))) {
      throw new FobError("not_authentic", "the fob accepted the password but could not " +
        "prove it knows it: this is not the fob it claims to be");
    }
    this.login_ = [key, fobNonce, hostNonce];
    this.session = [await auth.sessionKey(key, fobNonce, hostNonce), 0];
    // Wrong tries since the last right login: someone else may be guessing. Told at every
    // login, an automatic one after the session ended included.
    const failed = Number.isInteger(reply.failed) ? reply.failed : 0;
    if (failed > 0 && this.onFailedTries) this.onFailedTries(failed);
    return reply;
  }

  async logout() {
    return this.serial(async () => {
      try {
        return await this.raw("logout", {});
      } catch (err) {
        if (err.code !== "auth_required") throw err;
        return { logged_out: false };
      } finally {
        this.session = null;
        this.login_ = null;
      }
    });
  }

  // The first password, or a change after a login (the new key then goes masked with
  // this login's key); the fob shows the check value of the new key.
  async passwordSet(password, iterations = auth.ITERATIONS) {
    const salt = auth.random(auth.SALT_SIZE);
    const key = await auth.deriveKey(password, salt, iterations);
    const check = await passwordCheck(key);
    return this.serial(async () => {
      const params = { salt: auth.hex(salt), iterations };
      if (this.login_) {
        const [current, fobNonce, hostNonce] = this.login_;
        params.wrapped = auth.hex(await auth.wrap(current, fobNonce, hostNonce, key));
      } else {
        params.key = auth.hex(key);
      }
      const reply = await this.requestWithLogin("password_set", params, null, check);
      if (this.login_) this.login_ = [key, this.login_[1], this.login_[2]];
      return reply;
    });
  }

  async passwordClear() {
    const reply = await this.request("password_clear");
    this.login_ = null;
    return reply;
  }
}

// The wire form of an account: the secret in base32, the fob's only input for it; an
// HOTP account adds "type" and its "counter" (a TOTP request stays as it was).
export function accountFields(a) {
  const out = {
    name: a.name, issuer: a.issuer, secret: base32Encode(a.secret),
    algorithm: a.algorithm, digits: a.digits, period: a.period,
  };
  if (a.kind === "hotp") {
    out.type = "hotp";
    out.counter = a.counter || 0;
  }
  return out;
}

export function splitBatches(accounts, overwrite = false, maxLine = MAX_LINE) {
  // The envelope with the longest id and batch fields this client sends, and the MAC.
  const empty = encode({ id: 2 ** 53, cmd: "add_many", accounts: [], overwrite: !!overwrite,
    part: 99999, stage: false, batch: "0".repeat(32) }).length + auth.MAC_TAIL;
  const batches = [];
  let batch = [];
  let size = empty;
  for (const a of accounts) {
    const item = encode(accountFields(a)).length + 1;
    if (empty + item > maxLine) {
      throw new FobError("bad_argument", `account ${label(a)} is too long for one request`);
    }
    if (batch.length && size + item > maxLine) {
      batches.push(batch);
      batch = [];
      size = empty;
    }
    batch.push(a);
    size += item;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

export const label = (a) => (a.issuer ? `${a.issuer}:${a.name}` : a.name);
