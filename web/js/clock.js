// The fob's clock against this computer's, to a few milliseconds, as `otpfob time show`
// measures it (host_tools/otpfob/calibration.measure_offset): the fob reports whole
// seconds, so requests are sent back to back around its ticks and each reply of second t,
// sent at s and received at r (this computer's time), bounds the offset within
// (t - r, t + 1 - s).
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const sleep = (s) => new Promise((r) => setTimeout(r, Math.max(0, s * 1000)));

export async function measureOffset(timeGet, ticks = 2, firstWindow = 2.5) {
  let requests = 0;
  let best = null;
  const rtts = [];
  const ask = async () => {
    const s = now();
    const reply = await timeGet();
    const r = now();
    requests++;
    rtts.push(r - s);
    if (best === null || r - s < best) best = r - s;
    return [s, r, reply];
  };
  const untilTick = async (deadline, gap = 0) => {
    let prev = await ask();
    if (prev[2].time === null || prev[2].time === undefined) return [prev, null];
    for (;;) {
      if (gap > 0) await sleep(gap);
      const cur = await ask();
      if (cur[2].time === null || cur[2].time === undefined) return [cur, null];
      if (cur[2].time !== prev[2].time) return [prev, cur];
      if (cur[1] > deadline) return [cur, false];
      prev = cur;
    }
  };
  const result = (reply, offset, error, at, n) =>
    ({ reply, offset, error, at, roundTrip: best, ticks: n, requests, valid: offset !== null });
  const bracket = (o, n) => [n[2].time - n[1], n[2].time - o[0]];
  let [old, neu] = await untilTick(now() + firstWindow);
  if (neu === null) return result(old[2], null, null, old[1], 0);
  if (neu === false) {
    // The fob's second never changed (a stopped oscillator): still within a second.
    const [s, r, reply] = old;
    return result(reply, reply.time + 0.5 - (s + r) / 2, 0.5 + (r - s) / 2, r, 0);
  }
  const brackets = [bracket(old, neu)];
  let last = neu;
  const typical = [...rtts].sort((a, b) => a - b)[Math.floor(rtts.length / 2)];
  const gap = 0.75 * typical;
  for (let k = 0; k < ticks; k++) {
    const [lo, hi] = brackets[brackets.length - 1];
    const guard = 0.08 + 2 * (best || 0) + (hi - lo);
    await sleep(last[2].time + 1 - hi - guard - now());
    [old, neu] = await untilTick(now() + 1.5 + guard, gap);
    if (neu === null) return result(old[2], null, null, old[1], brackets.length);
    if (neu === false) break;
    brackets.push(bracket(old, neu));
    last = neu;
  }
  const [offset, error] = combine(brackets.length > 1 ? brackets.slice(1) : brackets);
  return result(last[2], offset, error, last[1], brackets.length);
}

function combine(brackets) {
  const lo = Math.max(...brackets.map((b) => b[0]));
  const hi = Math.min(...brackets.map((b) => b[1]));
  if (lo <= hi) return [(lo + hi) / 2, (hi - lo) / 2];
  const mids = brackets.map(([a, b]) => (a + b) / 2).sort((a, b) => a - b);
  const k = mids.length;
  const mid = k % 2 ? mids[(k - 1) / 2] : (mids[k / 2 - 1] + mids[k / 2]) / 2;
  const error = Math.max(...brackets.map(([a, b]) => Math.max(Math.abs(a - mid), Math.abs(b - mid))));
  return [mid, error];
}

// `otpfob time set`: the request timed to reach the fob as this computer's clock turns to
// a whole second (half a measured round trip early), since the DS3231 restarts its second
// when written. Returns the second set.
export async function setClock(client, force = false) {
  const rtts = [];
  for (let i = 0; i < 3; i++) {
    const s = now();
    await client.timeGet();
    rtts.push(now() - s);
  }
  rtts.sort((a, b) => a - b);
  const half = rtts[1] / 2;
  const t = now();
  let target = Math.floor(t + half) + 1;
  if (target - half - t < 0.05) target += 1;
  await sleep(target - half - now());
  const reply = await client.timeSet(target, force);
  return [target, reply, 2 * half];
}

export const nowSeconds = now;

export function driftText(offset, error) {
  if (offset === null || offset === undefined) return "unknown";
  let text = (offset >= 0 ? "+" : "") + offset.toFixed(3) + " s";
  if (error !== null && error !== undefined) text += " \u00b1" + error.toFixed(3);
  return text + (offset > 0.005 ? " (fob ahead)" : offset < -0.005 ? " (fob behind)" : " (fob in step)");
}

export function utc(epoch) {
  if (epoch === null || epoch === undefined) return "not set";
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}
