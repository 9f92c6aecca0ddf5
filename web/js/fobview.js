// The fob on the page as the holder sees it: the OLED on a canvas, three buttons, and
// what they do. Used by fob.html alone and by the admin page's "Try it without hardware".
import { Fob, drawPanel, wireButtons } from "../fob/fob.js";

export function mountFob(section, options = {}) {
  section.innerHTML = "";
  const title = document.createElement("h2");
  title.id = "fob-title";
  title.textContent = "The fob on this page";
  const body = document.createElement("div");
  body.className = "fob";
  body.innerHTML = `
    <canvas class="oled" width="128" height="64" role="img"
      aria-label="The fob's screen (starting)"></canvas>
    <div class="fob-buttons" role="group" aria-label="The fob's buttons">
      <button type="button" data-button="A" aria-keyshortcuts="A"
        aria-label="Button A (next; yes)">A</button>
      <button type="button" data-button="B" aria-keyshortcuts="B"
        aria-label="Button B (previous; no)">B</button>
      <button type="button" data-button="C" aria-keyshortcuts="C"
        aria-label="Button C (list)">C</button>
    </div>
    <p class="hint">Keys <kbd>A</kbd> <kbd>B</kbd> <kbd>C</kbd> press the buttons for as
    long as they are held (a yes on the fob is a hold of A until the bar is full).</p>
    <p class="fob-status" role="status" aria-live="polite">Starting the firmware…</p>
    <label class="keep"><input type="checkbox" name="keep"> Keep this fob's accounts in this
      browser after the page closes (a simulated fob: its secrets stay in this browser's
      storage)</label>`;
  section.append(title, body);
  const keepBox = body.querySelector("input[name=keep]");
  keepBox.checked = !!options.keep;
  const fob = new Fob(options);
  const canvas = body.querySelector("canvas");
  const status = body.querySelector(".fob-status");
  fob.onframe = () => drawPanel(canvas, fob);
  fob.onerror = (message) => { status.textContent = "The firmware stopped: " + message; };
  wireButtons(fob, body);
  fob.ready.then(() => { status.textContent = "Running."; }, () => {});
  // The screen's text for screen readers, from the firmware's own status (as drawn).
  const describe = async () => {
    const s = await fob.status();
    if (!s) return;
    let text = s.screen;
    if (s.prompt) text = `asks: ${s.prompt}`;
    else if (s.code) text = `${s.label}: code ${s.code}, ${s.seconds_left} s left`;
    else if (s.label) text = `${s.screen}: ${s.label}`;
    canvas.setAttribute("aria-label", "The fob's screen: " + text.replace(/_/g, " "));
  };
  setInterval(() => { if (!document.hidden) describe(); }, 1000);
  keepBox.addEventListener("change", () => {
    fob.options.keep = keepBox.checked;
    if (keepBox.checked) fob.worker.postMessage({ type: "save" });
    else Fob.forget();
  });
  return fob;
}
