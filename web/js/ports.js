// Where a fob's data channel comes from. Each gives objects shaped like WebSerial's
// SerialPort (open, close, readable, writable, getInfo), so the protocol client never
// knows which it has:
// - navigator.serial, the real fob over USB (Chrome, Edge, Opera);
// - the bridge: `otpfob web --serial-bridge socket://HOST:PORT` serves this page with a
//   stand-in for navigator.serial that reaches that TCP data port (a headless simulator's)
//   through a WebSocket on the server that served the page;
// - the fob running on this page (fob/fob.js), through its own port object.

// The CircuitPython boards' USB vendor ids (transport.FOB_VIDS), to narrow the chooser.
export const FOB_FILTERS = [{ usbVendorId: 0x239a }, { usbVendorId: 0x2e8a }];

class StreamPort {
  constructor(info) {
    this.info = info;
    this.readable = null;
    this.writable = null;
    this.controller = null;
  }

  getInfo() { return this.info; }

  makeStreams(send) {
    this.readable = new ReadableStream({
      start: (controller) => { this.controller = controller; },
    });
    this.writable = new WritableStream({ write: (chunk) => send(chunk) });
  }

  deliver(bytes) {
    if (this.controller) this.controller.enqueue(bytes);
  }

  ended() {
    if (this.controller) {
      try { this.controller.close(); } catch (err) { /* closed already */ }
      this.controller = null;
    }
  }
}

export class BridgePort extends StreamPort {
  constructor(url, target) {
    super({ bridge: target });
    this.url = url;
    this.ws = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.makeStreams((chunk) => ws.send(chunk));
        resolve();
      };
      ws.onmessage = (ev) => this.deliver(new Uint8Array(ev.data));
      ws.onclose = (ev) => {
        if (!opened) {
          reject(new Error("the bridge could not reach " + this.info.bridge +
            (ev.reason ? ": " + ev.reason : "")));
        }
        this.ended();
      };
    });
  }

  async close() {
    if (this.ws) this.ws.close();
    this.ended();
  }
}

// navigator.serial's stand-in when the page is served with --serial-bridge.
export function bridgeSerial(target) {
  const url = new URL("bridge", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const port = new BridgePort(url.href, target);
  return {
    bridged: target,
    requestPort: async () => port,
    getPorts: async () => [port],
  };
}

// The fob on this page (a Fob from fob/fob.js) as a serial port.
export class PagePort extends StreamPort {
  constructor(fob) {
    super({ page: true });
    this.fob = fob;
    this.listener = (bytes) => this.deliver(bytes);
  }

  // Opening and closing the port moves the fob's link state, as a USB host's DTR does.
  async open() {
    await this.fob.ready;
    this.makeStreams((chunk) => this.fob.send(chunk));
    this.fob.listeners.add(this.listener);
    this.fob.link(true);
  }

  async close() {
    this.fob.listeners.delete(this.listener);
    this.fob.link(false);
    this.ended();
  }
}
