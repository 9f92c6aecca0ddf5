// The admin page: what an admin does with `otpfob` (info, add, import, list, rename,
// delete, clock, password, settings, erase), over WebSerial, the simulator bridge or the
// fob running on this page. The wire work is in protocol.js; this module is the screens.
import { FobClient, FobError, explain, infoIsPartial, label as labelOf,
  takesHotp } from "./protocol.js";
import { LineTransport, TransportError } from "./transport.js";
import { FOB_FILTERS, PagePort, bridgeSerial } from "./ports.js";
import * as known from "./known.js";
import * as otpauth from "./otpauth.js";
import * as importer from "./importer.js";
import * as qr from "./qr.js";
import { groupCode, verifyAdd } from "./totp.js";
import { driftText, measureOffset, nowSeconds, setClock, utc } from "./clock.js";
import { ITERATIONS, PasswordError } from "./auth.js";
import { mountFob } from "./fobview.js";

const $ = (sel) => document.querySelector(sel);
const state = {
  config: { server: false, bridge: null },
  serial: null,          // navigator.serial, or the bridge's stand-in
  client: null,
  info: null,
  accounts: [],
  fob: null,             // the fob on this page, once started
  port: null,            // [port, name] of the last connection, to connect again
  acceptOnce: null,      // the serial of a fob without a password the admin goes on with
};
// For tests and the curious: the page's state (never a password or a secret).
window.otpfobAdmin = state;

// --- messages, progress, the fob's questions -------------------------------------------------
function say(text) {
  $("#message").textContent = "";
  $("#notice").textContent = text;
}

function fail(err) {
  const text = err instanceof FobError || err instanceof TransportError ||
    err instanceof otpauth.OtpauthError || err instanceof importer.ImportError ||
    err instanceof PasswordError ? explain(err) : String(err && err.message || err);
  $("#notice").textContent = "";
  $("#message").textContent = "Error: " + text;
  if (err instanceof known.DowngradeError) {
    // Nothing more goes to that fob until the admin decides.
    showDowngrade(err);
    disconnect().catch(() => {});
  }
}

// A line the admin should read whatever the action's outcome (as the CLI's warnings on
// stderr): wrong password tries, entries an import skips, fix-ups of what was read.
function warn(text) {
  const li = document.createElement("li");
  li.textContent = "Warning: " + text;
  $("#warnings").append(li);
}

async function busy(text, work, total = null) {
  const box = $("#busy");
  const bar = $("#busy-bar");
  $("#busy-text").textContent = text;
  if (total === null) bar.removeAttribute("value");
  else { bar.max = total; bar.value = 0; }
  box.hidden = false;
  document.body.setAttribute("aria-busy", "true");
  try {
    return await work((done, all) => { bar.max = all; bar.value = done; });
  } finally {
    box.hidden = true;
    document.body.removeAttribute("aria-busy");
  }
}

let presenceTimer = null;

// Guards a button's action: one error line, no unhandled promise.
function action(el, fn) {
  el.addEventListener(el.tagName === "FORM" ? "submit" : "click", async (ev) => {
    ev.preventDefault();
    if (el.dataset.running) return;
    el.dataset.running = "1";
    $("#message").textContent = "";
    $("#notice").textContent = "";
    $("#warnings").textContent = "";
    try {
      await fn(ev);
    } catch (err) {
      fail(err);
    } finally {
      delete el.dataset.running;
      state.finished = (state.finished || 0) + 1;   // actions ended (for tests)
    }
  });
}


// How the holder answers on this board (fob/question.py): a hold of A is the yes.
function howToAnswer(info) {
  const buttons = info && Array.isArray(info.buttons) ? info.buttons : ["A", "B"];
  if (buttons.length === 1) {
    return "Hold the fob's button until the bar is full to say yes (a tap is no).";
  }
  return "Hold A on the fob until the bar is full to say yes (B, or any tap, is no).";
}

// The fob's question, mirrored line for line while it waits for its holder, with the
// check value this page worked out from what it sent.
function showPrompt(prompt, seconds, request) {
  const box = $("#presence");
  const lines = String(prompt || "").split("\n").filter((l) => l !== "");
  const out = $("#presence-lines");
  out.textContent = "";
  lines.forEach((l, i) => {
    if (i) out.append(document.createElement("br"));
    out.append(l);
  });
  const check = $("#presence-check");
  const value = request && request.check;
  check.hidden = !value;
  check.textContent = "";
  if (value) {
    const shown = document.createElement("strong");
    shown.className = "check-value";
    shown.textContent = value;
    check.append("The fob must show ", shown, "; if it shows another, the question is " +
      "another program's: press B.");
  }
  $("#presence-how").textContent = howToAnswer(state.info);
  const bar = $("#presence-time");
  bar.max = seconds;
  bar.value = seconds;
  const end = performance.now() + seconds * 1000;
  clearInterval(presenceTimer);
  presenceTimer = setInterval(() => {
    bar.value = Math.max(0, (end - performance.now()) / 1000);
  }, 250);
  box.hidden = false;
  state.asked = (state.asked || 0) + 1;    // questions mirrored (for tests)
}

function hidePrompt() {
  clearInterval(presenceTimer);
  $("#presence").hidden = true;
}

// --- asking the person at the page -----------------------------------------------------------
function ask(title, text, fields = []) {
  const dialog = $("#ask-dialog");
  $("#ask-title").textContent = title;
  $("#ask-text").textContent = text;
  const box = $("#ask-fields");
  box.innerHTML = "";
  for (const f of fields) {
    const lab = document.createElement("label");
    lab.textContent = f.label + " ";
    const input = document.createElement("input");
    input.name = f.name;
    input.type = f.type || "text";
    input.value = f.value || "";
    input.autocomplete = "off";
    if (f.maxlength) input.maxLength = f.maxlength;
    lab.append(input);
    box.append(lab);
  }
  return new Promise((resolve) => {
    const done = (ok) => {
      dialog.close();
      const values = {};
      for (const f of fields) values[f.name] = box.querySelector(`[name="${f.name}"]`).value;
      resolve(ok ? values : null);
    };
    $("#ask-form").onsubmit = (ev) => { ev.preventDefault(); done(true); };
    $("#ask-cancel").onclick = () => done(false);
    dialog.oncancel = (ev) => { ev.preventDefault(); done(false); };
    dialog.showModal();
  });
}

function askPassword(why) {
  const dialog = $("#login-dialog");
  const form = $("#login-form");
  $("#login-why").textContent = why;
  form.username.value = state.info && state.info.serial ? "otpfob " + state.info.serial : "otpfob";
  form.password.value = "";
  return new Promise((resolve) => {
    const done = (value) => {
      dialog.close();
      resolve(value);
    };
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const pw = form.password.value || null;
      if (pw && state.info) known.passwordTyped(state.info.serial);
      done(pw);
    };
    $("#login-cancel").onclick = () => done(null);
    dialog.oncancel = (ev) => { ev.preventDefault(); done(null); };
    dialog.showModal();
  });
}

// --- connecting ---------------------------------------------------------------------------------
async function connect(port, name) {
  await disconnect();
  $("#downgrade").hidden = true;
  const transport = new LineTransport(port);
  await transport.open();
  const client = new FobClient(transport);
  client.onPrompt = showPrompt;
  client.onAnswered = hidePrompt;
  client.onFailedTries = (n) => warn(`${n} wrong password ${n === 1 ? "try" : "tries"} on ` +
    "this fob since your last login: someone may be guessing");
  client.onHello = (hello) => known.check(hello, state.acceptOnce === hello.serial);
  client.passwordProvider = async () => {
    const pw = await askPassword("This fob has a password: give it to go on.");
    return pw;
  };
  transport.onclose = () => {
    if (state.client === client) {
      state.client = null;
      showConnected(null);
      fail(new TransportError("io", "lost the connection to the fob (unplugged?)"));
    }
  };
  state.client = client;
  state.port = [port, name];
  try {
    // Who it is first: older firmware is refused, and a fob that lost its password is
    // not worked on (known.js).
    const hello = await client.hello();
    if (state.acceptOnce !== hello.serial) state.acceptOnce = null;
    known.check(hello, state.acceptOnce === hello.serial);
    await refreshInfo();
  } catch (err) {
    state.client = null;
    await client.close();
    throw err;
  }
  showConnected(name);
  if (state.info.password && !state.info.logged_in) {
    say("Connected. This fob has a password: log in to see and change its accounts.");
    $("#login-button").focus();
  } else {
    await loadAccounts();
    say(`Connected to ${name}.`);
  }
}

async function disconnect() {
  const client = state.client;
  state.client = null;
  if (client) await client.close();
  showConnected(null);
}

function showConnected(name) {
  $("#conn-state").textContent = name ? "Connected: " + name : "Not connected";
  $("#admin").hidden = !name;
  $("#disconnect").hidden = !name;
  if (!name) state.info = null;
}

// A fob without the password it had: the page stopped; the admin decides.
function showDowngrade(err) {
  state.downgraded = err.serial;
  $("#downgrade-text").textContent = err.message + ".";
  $("#downgrade").hidden = false;
}

async function reconnect() {
  if (!state.port) throw new Error("connect to the fob first");
  await connect(...state.port);
}

async function refreshInfo() {
  const info = await state.client.getInfo();
  try {
    known.check(info, state.acceptOnce === info.serial);
  } catch (err) {
    // It lost its password while connected (erased by someone else?): stop here.
    await disconnect();
    throw err;
  }
  state.info = info;
  renderInfo();
}

function row(dl, key, value) {
  const dt = document.createElement("dt");
  dt.textContent = key;
  const dd = document.createElement("dd");
  dd.textContent = value === null || value === undefined ? "-" : String(value);
  dl.append(dt, dd);
}

function renderInfo() {
  const d = state.info;
  const dl = $("#info");
  dl.innerHTML = "";
  row(dl, "Serial", d.serial);
  row(dl, "Board", d.board);
  row(dl, "Firmware", `${d.firmware} (protocol ${d.protocol})`);
  if (infoIsPartial(d)) {
    row(dl, "Accounts", "log in to see them");
  } else {
    row(dl, "Accounts", `${d.accounts} of ${d.capacity}`);
    row(dl, "Flash", `${d.bytes_used} bytes used, ${d.bytes_free} free`);
    row(dl, "Time", d.time !== null && d.time !== undefined ? utc(d.time) : clockText(d.clock));
    row(dl, "Press to add", d.add_presence === false ? "no (turned off by the admin)" : "yes");
    row(dl, "Codes over USB", d.usb_codes ? "without a press (usb_codes on)"
      : "only with a press on the fob");
  }
  const tries = d.tries_left;
  row(dl, "Password", d.password ? (tries !== undefined ? `set, ${tries} ${tries === 1 ? "try" : "tries"} left`
    : "set") : "none");
  const logged = d.password && (d.logged_in && state.client && state.client.loggedIn);
  $("#login-button").hidden = !d.password || !!logged;
  $("#logout-button").hidden = !logged;
  $("#password-state").textContent = d.password
    ? "The fob has a password: it answers only info until it is given."
    : "The fob has no password: any program on this computer can change its accounts.";
  $("#password-current-label").hidden = !d.password;
  $("#password-set").textContent = d.password ? "Change password" : "Set password";
  $("#password-set").setAttribute("aria-label", d.password ? "Set password (change it)" : "Set password");
  $("#password-clear").hidden = !d.password;
  const clock = $("#clock");
  clock.innerHTML = "";
  row(clock, "Fob", infoIsPartial(d) ? "log in to see it"
    : d.time !== null && d.time !== undefined ? utc(d.time) : clockText(d.clock));
  row(clock, "This computer", utc(Math.floor(nowSeconds())));
  if (d.aging !== undefined) row(clock, "Aging offset", d.aging);
  $("#clock-calibrate").hidden = !state.config.server;
}

function clockText(reason) {
  if (reason === "no_answer") {
    return "not answering (check the DS3231's wiring; the fob tries again by itself)";
  }
  return `not set (${reason}): Set clock sets it`;
}

// --- accounts -----------------------------------------------------------------------------------
async function loadAccounts() {
  const reply = await state.client.list();
  state.accounts = reply.accounts || [];
  renderAccounts();
  if (!$("#settings").children.length) await loadSettings();
}

function kindText(a) {
  if (a.algorithm === "STEAM") return "Steam";
  if (a.type === "hotp") return `HOTP, ${a.algorithm}, ${a.digits} digits`;
  return `${a.algorithm}, ${a.digits} digits, ${a.period}s`;
}

function renderAccounts(codes = null) {
  const body = $("#accounts tbody");
  body.innerHTML = "";
  $("#accounts-empty").hidden = state.accounts.length > 0;
  $("#accounts").hidden = state.accounts.length === 0;
  for (const a of state.accounts) {
    const tr = document.createElement("tr");
    const lbl = a.issuer ? `${a.issuer}:${a.name}` : a.name;
    const cells = [String(a.index + 1), a.issuer || "", a.name, kindText(a)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const codeCell = document.createElement("td");
    codeCell.className = "code-col";
    const c = codes && codes.get(a.index);
    if (c) {
      codeCell.textContent = c.code ? `${groupCode(c.code)} (${c.seconds_left} s)`
        : "error: " + ((c.error && c.error.message) || "?");
      codeCell.dataset.code = c.code || "";
    }
    tr.append(codeCell);
    const actions = document.createElement("td");
    const rename = document.createElement("button");
    rename.type = "button";
    rename.textContent = "Rename";
    rename.setAttribute("aria-label", "Rename " + lbl);
    action(rename, () => renameAccount(a));
    const del = document.createElement("button");
    del.type = "button";
    del.textContent = "Delete";
    del.className = "danger";
    del.setAttribute("aria-label", "Delete " + lbl);
    action(del, () => deleteAccount(a));
    actions.append(rename, " ", del);
    tr.append(actions);
    body.append(tr);
  }
}

async function showCodes() {
  const reply = await busy("Asking the fob for the codes", () => state.client.code());
  const codes = new Map((reply.codes || []).map((c) => [c.index, c]));
  state.lastCodes = { time: reply.time, codes: reply.codes || [] };
  renderAccounts(codes);
  say(`Codes at the fob's time ${utc(reply.time)}.`);
}

async function renameAccount(a) {
  const values = await ask("Rename", `New issuer and name for ${labelOf(a)}.`, [
    { name: "issuer", label: "Issuer", value: a.issuer || "", maxlength: 64 },
    { name: "name", label: "Account name", value: a.name, maxlength: 64 }]);
  if (!values) return;
  otpauth.checkLabel("name", values.name);
  if (values.issuer) otpauth.checkLabel("issuer", values.issuer);
  const reply = await state.client.rename(a.index, values.name, values.issuer);
  await loadAccounts();
  say(`Renamed ${labelOf(a)} to ${labelOf(reply)}.`);
}

async function deleteAccount(a) {
  const ok = await ask("Delete", `Delete ${labelOf(a)} from the fob? Its secret is gone ` +
    "for good (the service can give a new one).");
  if (!ok) return;
  const reply = await state.client.delete({ issuer: a.issuer || "", name: a.name });
  await loadAccounts();
  say(`Deleted ${labelOf(reply.deleted || a)}.`);
}

// --- add ------------------------------------------------------------------------------------------
function chosenSource() {
  return $("#add-form").querySelector("input[name=source]:checked").value;
}

function showSource() {
  const src = chosenSource();
  for (const el of $("#add-form").querySelectorAll("[data-source]")) {
    el.hidden = !el.dataset.source.split(" ").includes(src);
  }
}

let scanned = null;     // the text read from the camera or the screen
let scanAbort = null;

async function scan() {
  const src = chosenSource();
  const video = $("#scan-video");
  let stream;
  try {
    stream = src === "camera"
      ? await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      : await navigator.mediaDevices.getDisplayMedia({ video: true });
  } catch (err) {
    throw new Error(`no picture from the ${src === "camera" ? "camera" : "screen"}: ` + err.message);
  }
  scanAbort = new AbortController();
  video.hidden = false;
  $("#scan-stop").hidden = false;
  say("Hold the QR code in view…");
  try {
    const texts = await qr.scanStream(stream, video, scanAbort.signal);
    if (!texts.length) return;
    scanned = texts;
    say(`Read ${texts.length === 1 ? "a QR code" : texts.length + " QR codes"}; ` +
      "press Add account to add it.");
  } finally {
    video.hidden = true;
    $("#scan-stop").hidden = true;
  }
}

// The one account a QR's texts hold (as `otpfob add --qr`).
function fromQrTexts(texts, where) {
  if (texts.some((t) => t.toLowerCase().startsWith("otpauth-migration:"))) {
    throw new Error(`${where} holds a Google Authenticator export; import it below (Import)`);
  }
  const totp = texts.filter((t) => t.toLowerCase().startsWith("otpauth:") || otpauth.isSteam(t));
  if (!totp.length) throw new Error(`${where}: the QR code holds no otpauth:// URI`);
  if (totp.length > 1) throw new Error(`${where} holds ${totp.length} account QR codes; import it below`);
  return otpauth.parseUri(totp[0]);
}

async function accountToAdd(form) {
  const src = chosenSource();
  if (src === "uri") return otpauth.parseUri(form.uri.value);
  if (src === "qr") {
    const file = form.qr.files[0];
    if (!file) throw new Error("choose an image of the service's QR code");
    return fromQrTexts(await qr.readFile(file), file.name);
  }
  if (src === "camera" || src === "screen") {
    if (!scanned) throw new Error("no QR code read yet: Start reading first");
    return fromQrTexts(scanned, src === "camera" ? "the camera's picture" : "the screen");
  }
  let name = form.name.value.trim();
  let issuer = form.issuer.value.trim();
  if (!issuer && name.includes(":")) {
    issuer = name.slice(0, name.indexOf(":")).trim();
    name = name.slice(name.indexOf(":") + 1).trim();
  }
  const secretText = form.secret.value;
  if (otpauth.isSteam(secretText)) return otpauth.parseSteam(secretText, name || null, issuer || null);
  if (!name && !issuer) throw new otpauth.OtpauthError("name is empty");
  const algorithm = form.algorithm.value;
  return otpauth.makeAccount(name || issuer, otpauth.decodeSecret(secretText), {
    issuer: name ? issuer : "", algorithm, digits: algorithm === "STEAM" ? 5 : Number(form.digits.value),
    period: Number(form.period.value) });
}

async function addAccount() {
  const form = $("#add-form");
  const account = await accountToAdd(form);
  for (const w of account.warnings) warn(w);
  if (account.kind === "hotp" && !takesHotp(state.info)) {
    throw new Error(`${labelOf(account)} is an HOTP (counter-based) account, and this fob's ` +
      "firmware shows no HOTP codes; update it with `otpfob deploy`");
  }
  const overwrite = form.overwrite.checked;
  // The check `otpfob add` makes: the code in the add's reply against this computer's.
  const before = nowSeconds();
  let reply;
  try {
    reply = await state.client.add(account, overwrite);
  } catch (err) {
    if (err instanceof FobError && err.code === "duplicate") {
      throw new Error(`${labelOf(account)} is already on the fob; tick "Replace" to replace it`);
    }
    if (err instanceof FobError && err.code === "full") {
      throw new Error(`the fob is full: ${err.message}; deleting accounts makes room`);
    }
    throw err;
  }
  const after = nowSeconds();
  if (reply.warning) warn(reply.warning);
  form.secret.value = "";
  form.uri.value = "";
  form.qr.value = "";
  scanned = null;
  await loadAccounts();
  let text = `${reply.replaced ? "Replaced" : "Added"} ${labelOf(account)} as #${reply.index + 1}.`;
  if (account.kind === "hotp") {
    // The fob gives no code with an HOTP add (it would use up a counter value).
    say(text + ` HOTP account: the fob shows its next code (counter ${account.counter}) at ` +
      "a press.");
    return;
  }
  const [ok, message] = await verifyAdd(account, reply, before, after);
  if (ok === false) throw new Error(`${labelOf(account)} was stored (as #${reply.index + 1}), but ${message}`);
  if (ok === null) warn(message);
  else text += ` Check: ${message}.`;
  say(text);
}

// --- import ----------------------------------------------------------------------------------------
// What the chosen files and the pasted text hold, read as `otpfob import` reads them: URI
// lists, Google Authenticator exports and QR images here; other apps' exports by otpfob's
// importers on the server that served the page.
async function readImport() {
  const form = $("#import-form");
  const sources = [];
  for (const file of form.files.files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (importer.isImage(bytes)) {
      const texts = await qr.readFile(file);
      if (!texts.length) throw new importer.ImportError(`${file.name}: no QR code found in the image`);
      sources.push({ kind: "qr", where: file.name, texts });
      continue;
    }
    const decoded = importer.decodeText(bytes);
    if (decoded && importer.readsItself(decoded[0])) {
      sources.push({ kind: "text", where: file.name, text: decoded[0], encoding: decoded[1] });
    } else {
      sources.push(await serverImport(file));
    }
  }
  const pasted = form.text.value;
  if (pasted.trim()) sources.push({ kind: "text", where: "the pasted text", text: pasted });
  if (!sources.length) throw new importer.ImportError("choose files or paste URIs to import");
  return importer.collect(sources);
}

// Another app's export, read by otpfob's importers on the server that served the page; an
// encrypted one asks for the password it was exported with.
async function serverImport(file) {
  if (!state.config.server) {
    throw new importer.ImportError(`${file.name}: this page reads otpauth lists, QR images ` +
      "and Google Authenticator exports itself; other apps' exports need `otpfob web` (which " +
      "reads them with otpfob's importers on this computer) or `otpfob import`");
  }
  let password = null;
  for (;;) {
    const headers = { "X-Filename": encodeURIComponent(file.name),
      "Content-Type": "application/octet-stream" };
    if (password !== null) headers["X-Export-Password"] = encodeURIComponent(password);
    const res = await fetch("api/import", { method: "POST", body: file, cache: "no-store", headers });
    const data = await res.json();
    if (res.ok) return fromServer(data);
    if (!data.password) throw new importer.ImportError(data.error || `${file.name}: the server refused it`);
    const values = await ask("Export password", data.error + ".",
      [{ name: "password", label: "Password", type: "password" }]);
    if (!values || !values.password) {
      throw new importer.ImportError(`${file.name} is encrypted and no password was given; ` +
        "nothing was stored");
    }
    password = values.password;
  }
}

function fromServer(data) {
  return { kind: "read",
    items: data.accounts.map((a) => [otpauth.makeAccount(a.name, otpauth.decodeSecret(a.secret),
      { issuer: a.issuer, algorithm: a.algorithm, digits: a.digits, period: a.period,
        warnings: a.warnings || [], kind: a.type || "totp", counter: a.counter || 0 }), a.where]),
    skipped: data.skipped.map((s) => new importer.Skip(s.label, s.where, s.reason)),
    notices: data.notices || [], conflicts: data.conflicts || [] };
}

async function planFor(collected) {
  const form = $("#import-form");
  const replace = form.overwrite.checked;
  const skipExisting = form.skip.checked;
  if (replace && skipExisting) {
    throw new importer.ImportError("tick \"Leave accounts already on the fob\" or \"Replace " +
      "accounts already on the fob\", not both");
  }
  const existing = (await state.client.list()).accounts || [];
  const info = await state.client.getInfo();
  return [importer.planImport(collected.items, existing, info.capacity, replace, skipExisting,
    takesHotp(info)), existing, info];
}

function renderPlan(plan, collected) {
  const table = $("#import-plan");
  const body = table.querySelector("tbody");
  body.innerHTML = "";
  const rows = [...plan];
  for (const s of collected.skipped) rows.push({ action: "skip", label: s.label, where: s.where, reason: s.reason });
  for (const [lbl, wheres] of collected.conflicts) {
    rows.push({ action: "refuse", label: lbl, where: wheres.join(" and "),
      reason: "different secrets under one label" });
  }
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const text of [r.action, r.label, r.where || "", r.reason || ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  table.hidden = false;
  return rows;
}

function skippedNote(n) {
  return `${n} ${n === 1 ? "entry" : "entries"} skipped (listed above)`;
}

// "Check the import" (`otpfob import --dry-run`): per account what would happen, and why.
async function checkImport() {
  const collected = await readImport();
  for (const line of importer.warningLines(collected)) warn(line);
  const [plan] = await planFor(collected);
  const rows = renderPlan(plan, collected);
  const n = (k) => rows.filter((r) => r.action === k).length;
  say(`Nothing changed yet: ${n("add")} to add, ${n("replace")} to replace, ${n("skip")} ` +
    `skipped, ${n("refuse")} refused.`);
}

async function doImport() {
  const collected = await readImport();
  for (const line of importer.warningLines(collected)) warn(line);
  const form = $("#import-form");
  if (collected.conflicts.length) {
    throw new importer.ImportError("different secrets under one label: " +
      `${importer.conflictText(collected.conflicts)}. Nothing was stored: keep one of each ` +
      "(rename or delete the other in the app it came from) and import again");
  }
  if (!collected.items.length) {
    throw new importer.ImportError("nothing to import" +
      (collected.skipped.length ? ` (${skippedNote(collected.skipped.length)})` : ""));
  }
  const [plan, existing, info] = await planFor(collected);
  renderPlan(plan, collected);
  for (const r of plan.filter((row) => row.action === "skip")) {
    warn(`skipped ${r.label} (${r.where}): ${r.reason}`);
  }
  const refused = plan.filter((r) => r.action === "refuse");
  const clashes = refused.filter((r) => r.reason === "already on the fob").map((r) => r.label);
  if (clashes.length) {
    throw new importer.ImportError(`already on the fob: ${clashes.join(", ")}; tick "Leave ` +
      "accounts already on the fob\" to leave them as they are, or \"Replace accounts " +
      "already on the fob\" to replace them");
  }
  if (refused.length) {
    const room = Math.max(0, info.capacity - existing.length);
    throw new importer.ImportError(`the fob is full: it has room for ${room} more ` +
      `${room === 1 ? "account" : "accounts"}, the import has ` +
      `${plan.filter((r) => r.action === "add").length} new ones; deleting accounts makes room`);
  }
  const accounts = plan.filter((r) => r.action === "add" || r.action === "replace")
    .map((r) => r.account);
  const skipped = collected.skipped.length + plan.filter((r) => r.action === "skip").length;
  let reply = { added: 0, replaced: 0, warnings: [] };
  if (accounts.length) {
    try {
      [, reply] = await busy(`Importing ${accounts.length} accounts`, (progress) =>
        state.client.addStaged(accounts, form.overwrite.checked, info.max_line || 2048,
          progress, (info.limits || {}).batch_max), 1);
    } catch (err) {
      if (err instanceof FobError && ["refused", "presence_timeout"].includes(err.code)) {
        throw new FobError(err.code, `import ${err.message}; nothing was stored`);
      }
      if (err instanceof FobError && err.code === "timeout") {
        throw new FobError(err.code, `import stopped: ${err.message}; the fob stores an ` +
          "import whole or not at all, Reload the list shows which");
      }
      if (err instanceof FobError && err.stored) {
        throw new FobError(err.code, `import stopped: ${err.message}; the first ` +
          `${err.stored} accounts (whole batches) were stored, the rest was not`);
      }
      if (err instanceof FobError) {
        throw new FobError(err.code, "import stopped, nothing was stored: " +
          nameElement(err.message, accounts));
      }
      throw err;
    }
    for (const w of reply.warnings) warn(nameElement(w, accounts));
  }
  form.files.value = "";
  form.text.value = "";
  await loadAccounts();
  const added = reply.added || 0;
  const replaced = reply.replaced || 0;
  say(`Imported ${added + replaced} ${added + replaced === 1 ? "account" : "accounts"} ` +
    `(${added} new, ${replaced} replaced)${skipped ? "; " + skippedNote(skipped) : ""}.`);
}

function nameElement(message, accounts) {
  const m = /^accounts\[(\d+)\]: /.exec(message);
  if (m && Number(m[1]) < accounts.length) {
    return `${labelOf(accounts[Number(m[1])])}: ${message.slice(m[0].length)}`;
  }
  return message;
}

// --- clock -----------------------------------------------------------------------------------------
async function clockApi(body) {
  if (!state.config.server) return null;
  const res = await fetch("api/clock", { method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" }, cache: "no-store" });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || "the clock history could not be used");
  return data;
}

const reading = (m) => ({ offset: m.offset, error: m.error, at: m.at, round_trip: m.roundTrip });

async function clockShow() {
  const m = await busy("Measuring the fob's clock (a few seconds)", () =>
    measureOffset(() => state.client.timeGet()));
  const clock = $("#clock");
  clock.innerHTML = "";
  row(clock, "Fob", m.reply.time !== null ? utc(m.reply.time) : clockText(m.reply.clock));
  row(clock, "This computer", utc(Math.floor(nowSeconds())));
  row(clock, "Drift", driftText(m.offset, m.error));
  if (m.valid && state.info.serial) {
    await clockApi({ action: "record", serial: state.info.serial, kind: "show",
      reading: reading(m), aging: m.reply.aging });
  }
  say(m.valid ? `The fob's clock is off by ${driftText(m.offset, m.error)}.`
    : "The fob shows no codes until its clock is set: Set clock.");
  return m;
}

async function clockSet() {
  const force = $("#clock-force").checked;
  const [target, , rtt] = await busy("Setting the clock", async () => {
    try {
      return await setClock(state.client, force);
    } catch (err) {
      if (err instanceof FobError && err.code === "time_backwards") {
        throw new FobError(err.code, "this computer's clock is behind the latest time the fob " +
          `has seen (${err.message}); check this computer's clock, or tick "Allow setting it ` +
          "more than 30 s before\"");
      }
      throw err;
    }
  });
  const after = await busy("Measuring the clock after the set", () =>
    measureOffset(() => state.client.timeGet()));
  if (after.valid && state.info.serial) {
    await clockApi({ action: "record", serial: state.info.serial, kind: "set", set: true,
      reading: reading(after), aging: after.reply.aging });
  }
  await refreshInfo();
  say(`Set the fob's clock to ${utc(target)} (round trip ${(rtt * 1000).toFixed(1)} ms); drift ` +
    `now ${driftText(after.offset, after.error)}.`);
}

async function clockCalibrate() {
  const m = await clockShow();
  if (!m.valid) throw new Error("the fob's clock is not set; set it, then measure again a day later");
  const est = await clockApi({ action: "estimate", serial: state.info.serial, aging: m.reply.aging });
  if (est.new_aging === est.aging) {
    say(`The aging offset ${est.aging} is already the best one; nothing to change.`);
    return;
  }
  const reply = await state.client.agingSet(est.new_aging);
  await clockApi({ action: "record", serial: state.info.serial, kind: "calibrate",
    reading: reading(m), aging: reply.aging, aging_before: est.aging });
  say(`Set the aging offset from ${est.aging} to ${reply.aging}; expect about ` +
    `${est.expected_ppm.toFixed(2)} ppm from now on. Set the clock to correct it now.`);
}

// --- password -----------------------------------------------------------------------------------
async function login() {
  const pw = await askPassword("Give the fob's password.");
  if (pw === null) return;
  await state.client.login(pw);
  await afterLogin();
}

async function afterLogin() {
  await refreshInfo();
  await loadAccounts();
  say("Logged in.");
}

async function loginFirst(form) {
  if (state.client.loggedIn) return true;
  const current = form.current.value || await askPassword("Give the current password.");
  if (!current) return false;
  known.passwordTyped(state.info.serial);
  await state.client.login(current);
  return true;
}

async function setPassword() {
  const form = $("#password-form");
  const pw = form.new.value;
  if (pw !== form.repeat.value) throw new PasswordError("the two new passwords differ");
  if (!pw) throw new PasswordError("the password is empty");
  if (state.info.password && !(await loginFirst(form))) return;
  const changed = state.info.password;
  await busy("Deriving the key (PBKDF2) and asking the fob", () =>
    state.client.passwordSet(pw, ITERATIONS));
  known.record(state.info.serial, true);
  known.passwordTyped(state.info.serial);
  state.acceptOnce = null;
  $("#downgrade").hidden = true;
  for (const f of ["current", "new", "repeat"]) form[f].value = "";
  await refreshInfo();
  say(changed ? "Password changed." : "Password set: from now on the fob answers only info " +
    "until it is given (after 8 wrong tries in a row it stops taking logins until its " +
    "holder allows more with a press).");
}

async function clearPassword() {
  const form = $("#password-form");
  if (!(await loginFirst(form))) return;
  await state.client.passwordClear();
  known.record(state.info.serial, false);
  form.current.value = "";
  await refreshInfo();
  say("Password removed: the fob is open to any host again.");
}

// --- settings -------------------------------------------------------------------------------------
const SETTING_TEXT = {
  privacy: "Hide codes until an entry is selected",
  typing: "A long press types the code as a USB keyboard",
  add_presence: "Adding an account needs a press on the fob",
  usb_codes: "Send codes to the computer without a press",
  idle_timeout: "Seconds before the screen blanks",
  layout: "Keyboard layout for typing",
};

async function loadSettings() {
  const s = await state.client.settingsGet();
  const box = $("#settings");
  box.innerHTML = "";
  for (const [key, value] of Object.entries(s)) {
    if (["id", "ok", "layouts", "keyboard", "saved", "changed"].includes(key)) continue;
    const lab = document.createElement("label");
    const input = document.createElement(key === "layout" ? "select" : "input");
    input.name = key;
    if (typeof value === "boolean") {
      input.type = "checkbox";
      input.checked = value;
      lab.className = "inline";
      lab.append(input, " " + (SETTING_TEXT[key] || key));
    } else {
      if (key === "layout") {
        for (const l of s.layouts || [value]) input.append(new Option(l, l, false, l === value));
      } else {
        input.type = typeof value === "number" ? "number" : "text";
        input.value = value;
        if (key === "idle_timeout") { input.min = 5; input.max = 3600; }
      }
      lab.append((SETTING_TEXT[key] || key) + " ", input);
    }
    input.dataset.was = JSON.stringify(value);
    box.append(lab);
  }
  if (s.keyboard !== null && s.keyboard !== undefined && s.typing !== s.keyboard) {
    say("The fob's USB keyboard changes at the next plug-in: unplug it and plug it in again.");
  }
}

async function saveSettings() {
  const wanted = {};
  for (const input of $("#settings").querySelectorAll("[name]")) {
    const value = input.type === "checkbox" ? input.checked
      : input.type === "number" ? Number(input.value) : input.value;
    if (JSON.stringify(value) !== input.dataset.was) wanted[input.name] = value;
  }
  if (!Object.keys(wanted).length) {
    say("Nothing to change.");
    return;
  }
  if (wanted.idle_timeout !== undefined && !Number.isInteger(wanted.idle_timeout)) {
    throw new Error("idle_timeout must be a whole number of seconds");
  }
  const reply = await state.client.settingsSet(wanted);
  const missing = Object.keys(wanted).filter((k) => !(k in reply));
  if (missing.length) {
    throw new Error(`this fob's firmware has no setting ${missing.join(", ")}; update it with ` +
      "`otpfob deploy`");
  }
  await loadSettings();
  let text = "Changed " + Object.entries(wanted).map(([k, v]) =>
    `${k} to ${typeof v === "boolean" ? (v ? "on" : "off") : v}`).join(", ") + ".";
  if (reply.saved === false) text += " Warning: the fob could not write its settings file; " +
    "they hold until it restarts.";
  say(text);
}

// --- erase ----------------------------------------------------------------------------------------
async function reset() {
  const count = state.info.accounts;
  const ok = await ask("Erase the fob", `Erase ${count === undefined ? "every account" :
    count === 1 ? "1 account" : "all " + count + " accounts"} and the password on the fob? ` +
    "This cannot be undone.");
  if (!ok) return;
  await state.client.reset();
  known.record(state.info.serial, false);
  await refreshInfo();
  await loadAccounts();
  say(`Erased ${count === undefined ? "the fob" : count + (count === 1 ? " account" : " accounts")}.`);
}

// --- set-up -----------------------------------------------------------------------------------------
function startFob() {
  if (!state.fob) {
    const section = $("#fob-section");
    section.hidden = false;
    state.fob = mountFob(section, {
      keep: localStorage.getItem("otpfob.pagefob") !== null,
      demo: new URLSearchParams(location.search).get("demo") !== "0",
    });
  }
  return state.fob;
}

async function tryPageFob() {
  const fob = startFob();
  await busy("Starting the fob on this page", () => fob.ready);
  await connect(new PagePort(fob), "the fob on this page");
}

async function connectSerial() {
  if (!state.serial) {
    throw new TransportError("no_port", "this browser has no WebSerial: use Chrome or Edge, " +
      "the command line (otpfob), or Try it without hardware");
  }
  let port;
  try {
    port = await state.serial.requestPort({ filters: state.serial.bridged ? [] : FOB_FILTERS });
  } catch (err) {
    if (err && err.name === "NotFoundError") {
      throw new TransportError("no_port", "no fob chosen: plug it in and choose it (in " +
        "update mode the data channel is the second CircuitPython port)");
    }
    throw err;
  }
  await connect(port, state.serial.bridged ? "the bridge to " + state.serial.bridged : "the fob on USB");
}

async function init() {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (res.ok) state.config = await res.json();
  } catch (err) {
    state.config = { server: false, bridge: null };
  }
  if (state.config.bridge) {
    state.serial = bridgeSerial(state.config.bridge);
    const note = $("#bridge-note");
    note.hidden = false;
    note.textContent = `Served with --serial-bridge: Connect reaches ${state.config.bridge} ` +
      "(a simulator's data port) instead of a USB port.";
  } else if ("serial" in navigator) {
    state.serial = navigator.serial;
  } else {
    $("#no-serial").hidden = false;
    $("#connect").disabled = true;
  }
  if (!state.config.server) {
    $("#import-other").textContent = "other apps' exports with `otpfob web` or `otpfob import`";
  }
  action($("#connect"), connectSerial);
  action($("#downgrade-set"), async () => {
    // Go on with it this once, to protect it again.
    state.acceptOnce = state.downgraded;
    await reconnect();
    $("#password-form").new.focus();
    say("Connected to a fob without a password: set one below (Password), or check what " +
      "it holds.");
  });
  action($("#downgrade-accept"), async () => {
    known.forget(state.downgraded);
    await reconnect();
    $("#downgrade").hidden = true;
  });
  action($("#try"), tryPageFob);
  action($("#disconnect"), async () => { await disconnect(); say("Disconnected."); });
  action($("#refresh"), async () => { await refreshInfo(); await loadAccounts(); say("Refreshed."); });
  action($("#selftest"), async () => {
    const reply = await busy("Running the RFC test vectors on the fob", () => state.client.selftest());
    const ul = $("#selftest-result");
    ul.innerHTML = "";
    for (const c of reply.checks || []) {
      const li = document.createElement("li");
      li.textContent = `${c.pass ? "ok" : "FAIL"} ${c.name}` + (c.pass ? "" : ` (expected ${c.expected}, got ${c.got})`);
      ul.append(li);
    }
    ul.hidden = false;
    if (!reply.pass) throw new Error("the fob's self-test failed");
    say(`${(reply.checks || []).length} checks, all passed.`);
  });
  action($("#login-button"), login);
  action($("#logout-button"), async () => { await state.client.logout(); await refreshInfo(); say("Logged out."); });
  action($("#reload-list"), async () => { await loadAccounts(); say("List reloaded."); });
  action($("#show-codes"), showCodes);
  for (const r of $("#add-form").querySelectorAll("input[name=source]")) r.addEventListener("change", showSource);
  action($("#scan"), scan);
  $("#scan-stop").addEventListener("click", () => scanAbort && scanAbort.abort());
  action($("#add-form"), addAccount);
  action($("#import-read"), checkImport);
  action($("#import-form"), doImport);
  action($("#clock-show"), clockShow);
  action($("#clock-set"), clockSet);
  action($("#clock-calibrate"), clockCalibrate);
  action($("#password-form"), setPassword);
  action($("#password-clear"), clearPassword);
  action($("#settings-form"), saveSettings);
  action($("#reset"), reset);
  showSource();
  state.ready = true;
  state.readyAt = performance.now();   // ms since the navigation began (make bench)
  const params = new URLSearchParams(location.search);
  if (params.get("fob") === "page") $("#try").click();
}

init();
