// Lines over a serial port as WebSerial gives it (`readable`, `writable`, open/close): the
// real fob's USB port, the page's own simulated fob, or the bridge to a simulator's TCP
// data port. One reader runs while the port is open and splits what comes on "\n".

const BAUD = 115200;

export class TransportError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class LineTransport {
  constructor(port) {
    this.port = port;
    this.lines = [];
    this.waiters = [];
    this.buffer = new Uint8Array(0);
    this.closed = false;
    this.reader = null;
    this.writer = null;
    this.onclose = null;
  }

  async open() {
    try {
      await this.port.open({ baudRate: BAUD });
    } catch (err) {
      const text = String(err && err.message || err);
      if (/already open/i.test(text)) {
        // Opened already by this page (a reconnect): use it as it is.
      } else if (/failed to open|busy|in use/i.test(text)) {
        throw new TransportError("busy", "fob busy: the port is in use by another program " +
          "(a serial terminal or otpfob?)");
      } else {
        throw new TransportError("open", "cannot open the port: " + text);
      }
    }
    this.writer = this.port.writable.getWriter();
    this.reading = this.readLoop();
  }

  async readLoop() {
    this.reader = this.port.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        if (value && value.length) this.take(value);
      }
    } catch (err) {
      // The device went away (unplugged) or the port closed: waiting readers learn it.
    } finally {
      try { this.reader.releaseLock(); } catch (err) { /* already released */ }
      this.finish();
    }
  }

  take(chunk) {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    let start = 0;
    for (let i = 0; i < joined.length; i++) {
      if (joined[i] === 0x0a) {
        let end = i;
        if (end > start && joined[end - 1] === 0x0d) end--;
        this.push(joined.slice(start, end));
        start = i + 1;
      }
    }
    this.buffer = joined.slice(start);
  }

  push(line) {
    const w = this.waiters.shift();
    if (w) w.resolve(line);
    else this.lines.push(line);
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.resolve(null);
    if (this.onclose) this.onclose();
  }

  async writeLine(bytes) {
    if (this.closed) throw new TransportError("io", "lost the connection to the fob");
    const out = new Uint8Array(bytes.length + 1);
    out.set(bytes, 0);
    out[bytes.length] = 0x0a;
    try {
      await this.writer.write(out);
    } catch (err) {
      throw new TransportError("io", "lost the connection to the fob (" + err.message + ")");
    }
  }

  // One line (bytes, no newline), or null when none came within `seconds` or the port closed.
  readLine(seconds) {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w = { resolve: (v) => { clearTimeout(w.timer); resolve(v); } };
      w.timer = setTimeout(() => {
        const at = this.waiters.indexOf(w);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(null);
      }, Math.max(0, seconds * 1000));
      this.waiters.push(w);
    });
  }

  discardInput() {
    this.lines = [];
    this.buffer = new Uint8Array(0);
  }

  async close() {
    // WebSerial closes a port only once both its streams are unlocked: the reader's loop
    // ends (and lets go) after the cancel, the writer is let go here.
    try { if (this.reader) await this.reader.cancel(); } catch (err) { /* gone */ }
    if (this.reading) await this.reading;
    try { if (this.writer) this.writer.releaseLock(); } catch (err) { /* gone */ }
    try { await this.port.close(); } catch (err) { /* closing a dead port */ }
    this.finish();
  }
}
