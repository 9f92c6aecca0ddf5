// The fob on the page, main-thread side: starts the firmware's worker, draws its OLED on a
// canvas, turns clicks, touches and keys into button presses (a press lasts as long as the
// pointer or key is held, so a hold of A is a hold), and carries the data channel's bytes
// for the port the admin page opens (js/ports.js PagePort).

const BUTTON_PINS = { A: "BUTTON_A", B: "BUTTON_B", C: "BUTTON_C" };
const STORE = "otpfob.pagefob";
// The holder's answer (fob/question.py): a yes is A held until the bar is full (1.5 s),
// held a little longer here as a hand does; a no is a tap.
const HOLD_SECONDS = 1.5;
const TAP_SECONDS = 0.15;
const QUESTION_SCREENS = ["presence", "confirm"];
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
// RFC 6238's public SHA-1 test key, the demo account of `otpfob sim --demo`; it protects
// nothing.
const DEMO = { name: "demo@example.com", issuer: "otpfob",
  secretHex: "3132333435363738393031323334353637383930" };

export class Fob {
  // `options`: keep (bool: the fob's flash survives a reload, in this browser's storage),
  // demo (seed the demo account and set the clock when the flash is empty).
  constructor(options = {}) {
    this.options = options;
    this.listeners = new Set();
    this.consoleLines = [];
    this.onframe = null;
    this.onerror = null;
    this.statusWaiters = new Map();
    this.nextStatus = 1;
    this.image = null;
    this.displayOn = false;
    let saved = null;
    if (options.keep) {
      try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (err) { saved = null; }
    }
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = (ev) => this.message(ev.data, resolve, reject);
    });
    const fresh = !saved || !saved.files || !Object.keys(saved.files).length;
    this.worker.postMessage({ type: "start", options: {
      state: saved, demo: options.demo && fresh ? DEMO : null,
      clock: !!options.demo && fresh } });
  }

  message(msg, resolve, reject) {
    if (msg.type === "ready") resolve();
    else if (msg.type === "frame") {
      this.image = msg.image;
      this.displayOn = msg.on;
      if (this.onframe) this.onframe();
    } else if (msg.type === "data") {
      for (const l of this.listeners) l(msg.bytes);
    } else if (msg.type === "console") {
      this.consoleLines.push(msg.line);
      if (this.consoleLines.length > 200) this.consoleLines.shift();
    } else if (msg.type === "status") {
      const w = this.statusWaiters.get(msg.id);
      this.statusWaiters.delete(msg.id);
      if (w) w(msg.value);
    } else if (msg.type === "state") {
      if (this.options.keep) localStorage.setItem(STORE, JSON.stringify(msg.state));
    } else if (msg.type === "error") {
      reject(new Error(msg.message));
      if (this.onerror) this.onerror(msg.message);
    }
  }

  send(bytes) {
    this.worker.postMessage({ type: "data", bytes: Uint8Array.from(bytes) });
  }

  // The data channel's link state (usb_cdc's "connected", DTR on USB): up while a page
  // holds the port open. The firmware drops what a host that left did not get read, and
  // ends its session, its question and its staged import.
  link(up) {
    this.worker.postMessage({ type: "link", up: !!up });
  }

  button(name, down) {
    this.worker.postMessage({ type: "pin", name: BUTTON_PINS[name], down });
  }

  // What the firmware's App.status() says (screen, label, code as drawn, prompt...).
  status() {
    const id = this.nextStatus++;
    return new Promise((resolve) => {
      this.statusWaiters.set(id, resolve);
      this.worker.postMessage({ type: "status", id });
    });
  }

  // The holder's answer to the question on the fob, as `otpfob sim`'s control port gives
  // it (`answer yes|no`): once the fob counts a hold (its first moment over, the question
  // shown whole), A held until the bar is full for yes, a tap of B for no. Rejects when
  // no question comes within `within` seconds.
  async answer(yes, within = 60) {
    const deadline = performance.now() + within * 1000;
    for (;;) {
      const s = await this.status();
      if (s && QUESTION_SCREENS.includes(s.screen) && s.prompt_ready) break;
      if (performance.now() > deadline) throw new Error("no question on the fob to answer");
      await sleep(0.05);
    }
    const name = yes ? "A" : "B";
    this.button(name, true);
    try {
      if (!yes) {
        await sleep(TAP_SECONDS);
        return;
      }
      // Let go once the question is gone, as a holder does when the bar is full.
      const until = performance.now() + (HOLD_SECONDS + 1) * 1000;
      await sleep(HOLD_SECONDS);
      while (performance.now() < until) {
        const s = await this.status();
        if (!s || !QUESTION_SCREENS.includes(s.screen)) break;
        await sleep(0.05);
      }
    } finally {
      this.button(name, false);
    }
  }

  stop() {
    this.worker.postMessage({ type: "stop" });
    this.worker.terminate();
  }

  static forget() {
    localStorage.removeItem(STORE);
  }
}

// The OLED: 128x64 pixels drawn at `scale`, lit pixels in the panel's blue-white.
export function drawPanel(canvas, fob) {
  const ctx = canvas.getContext("2d");
  const w = 128;
  const h = 64;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const on = fob.displayOn && fob.image && fob.image[i];
    img.data[i * 4] = on ? 0xcf : 0x08;
    img.data[i * 4 + 1] = on ? 0xf0 : 0x0c;
    img.data[i * 4 + 2] = on ? 0xff : 0x14;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// Buttons: pointer down/up (mouse, touch, pen) and keys A/B/C or Space/Enter on a
// focused button. Releasing anywhere ends the press.
export function wireButtons(fob, root) {
  const held = new Set();
  const press = (name, down) => {
    if (down === held.has(name)) return;
    if (down) held.add(name);
    else held.delete(name);
    fob.button(name, down);
    const el = root.querySelector(`[data-button="${name}"]`);
    if (el) el.classList.toggle("pressed", down);
  };
  for (const el of root.querySelectorAll("[data-button]")) {
    const name = el.dataset.button;
    el.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      el.setPointerCapture(ev.pointerId);
      press(name, true);
    });
    el.addEventListener("pointerup", () => press(name, false));
    el.addEventListener("pointercancel", () => press(name, false));
    el.addEventListener("keydown", (ev) => {
      if ((ev.key === " " || ev.key === "Enter") && !ev.repeat) {
        ev.preventDefault();
        press(name, true);
      }
    });
    el.addEventListener("keyup", (ev) => {
      if (ev.key === " " || ev.key === "Enter") press(name, false);
    });
    el.addEventListener("blur", () => press(name, false));
  }
  // The letters work wherever the focus is, except in a text field.
  const typing = (ev) => ev.target && ev.target.closest && ev.target.closest("input, textarea, select");
  document.addEventListener("keydown", (ev) => {
    const name = ev.key && ev.key.toUpperCase();
    if (!BUTTON_PINS[name] || ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev)) return;
    if (!root.isConnected || root.hidden) return;
    press(name, true);
  });
  document.addEventListener("keyup", (ev) => {
    const name = ev.key && ev.key.toUpperCase();
    if (BUTTON_PINS[name]) press(name, false);
  });
  window.addEventListener("blur", () => { for (const n of [...held]) press(n, false); });
}
