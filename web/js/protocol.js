// The fob's protocol, page side: JSON lines, one request and one reply, matched by id;
// presence prompts; the login and its signed session; password changes; staged imports.
// host_tools/otpfob/client.py is the reference, and errors read as the CLI's do.
import * as auth from "./auth.js";
import * as v2 from "./v2.js";
import { base32Encode } from "./otpauth.js";

export const MAX_LINE = 2048;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class FobError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// The fix the CLI names after a fob's error when the message does not (cli/util.py).
const HINTS = {
  clock_not_set: "set the clock (Clock: Set clock, or `otpfob time set`)",
  clock_fault: "check the wiring between the board and the DS3231; the fob tries again " +
    "by itself",
  no_password: "Password: Set password gives the fob one",
  full: "deleting accounts makes room",
  unknown_command: "update the fob's firmware with `otpfob deploy`",
  ...v2.ERROR_HINTS,
};

export function explain(err) {
  if (!(err instanceof FobError)) return String(err && err.message || err);
  const hint = HINTS[err.code];
  if (hint && !err.message.includes(hint) && !/otpfob /.test(err.message)) {
    return err.message + "; " + hint;
  }
  return err.message;
}

export const encode = (message) => enc.encode(JSON.stringify(message));

export class FobClient {
  constructor(transport, timeout = 5) {
    this.transport = transport;
    this.timeout = timeout;
    // A reply still in flight from an earlier, interrupted session must not match.
    this.nextId = 1 + Math.floor(Math.random() * (1 << 20));
    this.roundTrips = 0;
    this.onPrompt = null;        // (prompt, seconds, request) while the fob asks its holder
    this.onAnswered = null;      // () when that question is over
    this.passwordProvider = null; // async (client) => password or null
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

  // One request at a time: the page's buttons may fire while one is out.
  request(cmd, params = {}, timeout = null) {
    const run = () => this.requestWithLogin(cmd, params, timeout);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  async requestWithLogin(cmd, params, timeout) {
    try {
      return await this.raw(cmd, params, timeout);
    } catch (err) {
      if (!(err instanceof FobError) || err.code !== "auth_required" || !this.passwordProvider ||
          cmd === "auth_begin" || cmd === "auth") throw err;
    }
    const password = await this.passwordProvider(this);
    if (password === null || password === undefined) {
      throw new FobError("auth_required", "this fob is protected by a password: log in first");
    }
    await this.doLogin(password);
    return this.raw(cmd, params, timeout);
  }

  async raw(cmd, params, timeout) {
    const rid = this.nextId++;
    const message = { id: rid, cmd, ...params };
    let line = encode(message);
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
          if (this.onPrompt) this.onPrompt(String(reply.prompt || ""), t, { cmd, params });
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
  async getInfo() {
    this.info = await this.request("info");
    return this.info;
  }

  timeGet() { return this.request("time_get"); }

  timeSet(epoch, force = false) {
    const params = { time: Math.floor(epoch) };
    if (force) params.force = true;
    return this.request("time_set", params);
  }

  agingGet() { return this.request("aging_get"); }
  agingSet(aging) { return this.request("aging_set", { aging: aging | 0 }); }

  add(account, overwrite = false) {
    return this.request("add", { ...accountFields(account), overwrite: !!overwrite });
  }

  // An all-or-nothing import in as few add_many parts as the line limit allows, written
  // to flash once at the last part. `progress(done, total)` follows the parts.
  async addStaged(accounts, overwrite = false, maxLine = MAX_LINE, progress = null) {
    const parts = splitBatches(accounts, overwrite, maxLine);
    const batch = v2.batchId();
    const warnings = [];
    let reply = {};
    try {
      for (let n = 0; n < parts.length; n++) {
        if (progress) progress(n, parts.length);
        reply = await this.request("add_many", {
          accounts: parts[n].map(accountFields), overwrite: !!overwrite, part: n,
          stage: n < parts.length - 1, batch,
        }, Math.max(this.timeout, 30));
        warnings.push(...(reply.warnings || []));
      }
    } catch (err) {
      try { await this.request("abort"); } catch (e) { /* the fob drops it by itself too */ }
      throw err;
    }
    if (progress) progress(parts.length, parts.length);
    reply.warnings = warnings;
    return [parts.length, reply];
  }

  list() { return this.request("list"); }

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

  code(index = null) {
    if (index === null) return this.request("code", { all: true }, Math.max(this.timeout, 20));
    return this.request("code", { index: index | 0 });
  }

  // Erases the accounts and the password; the fob ends the session with them.
  async reset() {
    const reply = await this.request("reset", { confirm: true }, Math.max(this.timeout, 30));
    this.session = null;
    this.login_ = null;
    return reply;
  }

  selftest() { return this.request("selftest", {}, Math.max(this.timeout, 30)); }
  settingsGet() { return this.request("settings_get"); }
  settingsSet(settings) { return this.request("settings_set", settings); }

  // --- the management password -------------------------------------------------------------
  login(password) {
    const run = () => this.doLogin(password);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  async doLogin(password) {
    auth.checkPassword(password);
    this.session = null;
    this.login_ = null;
    const begin = await this.raw("auth_begin", {}, null);
    const fobNonce = auth.unhex(begin.challenge);
    const key = await auth.deriveKey(password, auth.unhex(begin.salt), begin.iterations);
    const hostNonce = auth.random(auth.NONCE_SIZE);
    const reply = await this.raw("auth", {
      challenge: auth.hex(hostNonce),
      response: auth.hex(await auth.hostProof(key, fobNonce, hostNonce)),
    }, null);
    if (!(await auth.fobProofOk(key, fobNonce, hostNonce, auth.unhex(reply.response)))) {
      throw new FobError("not_authentic", "the fob accepted the password but could not " +
        "prove it knows it: this is not the fob it claims to be");
    }
    this.login_ = [key, fobNonce, hostNonce];
    this.session = [await auth.sessionKey(key, fobNonce, hostNonce), 0];
    reply.failedTries = v2.failedTries(reply);
    return reply;
  }

  async logout() {
    try {
      return await this.request("logout");
    } catch (err) {
      if (err.code !== "auth_required") throw err;
      return { logged_out: false };
    } finally {
      this.session = null;
      this.login_ = null;
    }
  }

  // The first password, or a change after a login; `onKey(key)` gets the new key first
  // (for the check value the fob shows on protocol 2).
  async passwordSet(password, iterations = auth.ITERATIONS, onKey = null) {
    const salt = auth.random(auth.SALT_SIZE);
    const key = await auth.deriveKey(password, salt, iterations);
    if (onKey) await onKey(key);
    const params = { salt: auth.hex(salt), iterations };
    if (this.login_) {
      const [current, fobNonce, hostNonce] = this.login_;
      params.wrapped = auth.hex(await auth.wrap(current, fobNonce, hostNonce, key));
    } else {
      params.key = auth.hex(key);
    }
    const reply = await this.request("password_set", params);
    if (this.login_) this.login_ = [key, this.login_[1], this.login_[2]];
    return reply;
  }

  async passwordClear() {
    const reply = await this.request("password_clear");
    this.login_ = null;
    return reply;
  }

}

// The wire form of an account: the secret in base32, the fob's only input for it.
export function accountFields(a) {
  const out = {
    name: a.name, issuer: a.issuer, secret: base32Encode(a.secret),
    algorithm: a.algorithm, digits: a.digits, period: a.period,
  };
  if (a.type === "hotp") {
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
