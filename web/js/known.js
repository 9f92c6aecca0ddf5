// No silent downgrade, as the CLI does it (host_tools/otpfob/known.py and
// cli/util.State._check_protection): this browser remembers, per fob serial, whether the
// fob had a password (in local storage: nothing secret, only true or false), and this tab
// remembers the fobs a password was typed for. A fob that had a password, or one a
// password was typed for, and now has none may have been reset (erased) by someone else:
// the page stops and says so instead of working on it (and adding to it) as if nothing
// happened.

const STORE = "otpfob.known";
const typed = new Set();      // serials a password was typed for in this tab

export class DowngradeError extends Error {
  constructor(serial, message) {
    super(message);
    this.serial = serial;
  }
}

function load() {
  try {
    const data = JSON.parse(localStorage.getItem(STORE) || "{}");
    return data && typeof data === "object" && !Array.isArray(data) ? data : {};
  } catch (err) {
    return {};
  }
}

export function hadPassword(serial) {
  const entry = load()[serial || ""];
  return !!entry && entry.password === true;
}

// Remember whether the fob has a password now.
export function record(serial, password) {
  if (!serial) return;
  const data = load();
  if (data[serial] && data[serial].password === password) return;
  data[serial] = { password: !!password };
  try {
    localStorage.setItem(STORE, JSON.stringify(data));
  } catch (err) {
    // No storage (a private window's quota): this tab's memory still holds `typed`.
  }
  if (!password) typed.delete(serial);
}

export function passwordTyped(serial) {
  if (serial) typed.add(serial);
}

// Called with every hello or info: records a password, or stops (DowngradeError) at a
// fob without one that this browser saw protected or this tab typed a password for.
// `acceptOnce`: the admin chose to go on with it anyway (to set a password now).
export function check(info, acceptOnce = false) {
  const serial = info && info.serial;
  if (!serial) return;
  if (info.password) {
    record(serial, true);
    return;
  }
  if (acceptOnce) return;
  let why;
  if (typed.has(serial)) why = "a password was typed for it on this page";
  else if (hadPassword(serial)) why = "it had one when this browser last saw it";
  else return;
  throw new DowngradeError(serial, `fob ${serial} has no password, but ${why}: it may have ` +
    "been reset (erased) by someone else, so check what it holds before you trust it. " +
    "\"Set a password now\" protects it again; \"Accept it without a password\" makes this " +
    "browser accept it without one");
}

// `otpfob password forget`: accept the fob without a password from now on.
export function forget(serial) {
  record(serial, false);
}
