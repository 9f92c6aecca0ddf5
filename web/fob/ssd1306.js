// Register-level model of the Solomon Systech SSD1306 OLED controller (datasheet rev.
// 1.1), the page's counterpart of otpfob/sim/ssd1306.py: the I2C stream decoded as the
// chip does (a control byte, then commands or GDDRAM data), the command parser's state
// kept across transactions, and the visible image for a module mounted the usual way.

const CTRL_CO = 0x80;
const CTRL_DC = 0x40;
const CMD_CONTRAST = 0x81;
const CMD_ENTIRE_ON_RESUME = 0xa4;
const CMD_ENTIRE_ON = 0xa5;
const CMD_NORMAL = 0xa6;
const CMD_INVERT = 0xa7;
const CMD_DISPLAY_OFF = 0xae;
const CMD_DISPLAY_ON = 0xaf;
const CMD_HIGH_COLUMN = 0x10;
const CMD_MEMORY_MODE = 0x20;
const CMD_COLUMN_ADDR = 0x21;
const CMD_PAGE_ADDR = 0x22;
const CMD_PAGE_START = 0xb0;
const CMD_START_LINE = 0x40;
const CMD_SEG_REMAP = 0xa0;
const CMD_MULTIPLEX = 0xa8;
const CMD_COM_SCAN_INC = 0xc0;
const CMD_DISPLAY_OFFSET = 0xd3;
const CMD_CHARGE_PUMP = 0x8d;

const MODE_HORIZONTAL = 0;
const MODE_VERTICAL = 1;
const MODE_PAGE = 2;
const COLUMNS = 128;
const PAGES = 8;

// Argument bytes per command (datasheet table 9-1).
const ARGS = new Map([
  [CMD_CONTRAST, 1], [CMD_MEMORY_MODE, 1], [CMD_COLUMN_ADDR, 2], [CMD_PAGE_ADDR, 2],
  [CMD_MULTIPLEX, 1], [CMD_DISPLAY_OFFSET, 1], [0xda, 1], [0xd5, 1], [0xd9, 1], [0xdb, 1],
  [CMD_CHARGE_PUMP, 1], [0xad, 1], [0x23, 1], [0xd6, 1], [0x26, 6], [0x27, 6], [0x29, 5],
  [0x2a, 5], [0xa3, 2],
]);

export class SSD1306 {
  constructor(width = 128, height = 64) {
    if (width !== COLUMNS || ![16, 32, 64].includes(height)) {
      throw new Error(`unsupported panel size ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.gddram = new Uint8Array(COLUMNS * PAGES);
    this.bytesReceived = 0;
    this.version = 0;      // moves on every change, so the page redraws only then
    this.reset();
  }

  reset() {
    this.displayOn = false;
    this.contrast = 0x7f;
    this.entireOn = false;
    this.inverted = false;
    this.mode = MODE_PAGE;
    this.colStart = 0; this.colEnd = COLUMNS - 1;
    this.pageStart = 0; this.pageEnd = PAGES - 1;
    this.col = 0; this.page = 0;
    this.pageModeColStart = 0;
    this.startLine = 0;
    this.segRemap = false;
    this.comRemap = false;
    this.multiplex = 64;
    this.displayOffset = 0;
    this.cmd = null;
    this.args = [];
    this.need = 0;
  }

  i2cWrite(data) {
    this.bytesReceived += data.length;
    let i = 0;
    const n = data.length;
    while (i < n) {
      const control = data[i++];
      const isData = (control & CTRL_DC) !== 0;
      if (control & CTRL_CO) {
        if (i < n) this.feed(data[i++], isData);
        continue;
      }
      while (i < n) this.feed(data[i++], isData);
    }
  }

  i2cRead(n) {
    // Status read: bit 6 is 1 while the display is off.
    return new Uint8Array(n).fill(this.displayOn ? 0x00 : 0x40);
  }

  feed(byte, isData) {
    if (isData) this.writeRam(byte);
    else this.commandByte(byte);
  }

  writeRam(byte) {
    this.gddram[this.page * COLUMNS + this.col] = byte;
    this.version++;
    if (this.mode === MODE_HORIZONTAL) {
      if (++this.col > this.colEnd) {
        this.col = this.colStart;
        if (++this.page > this.pageEnd) this.page = this.pageStart;
      }
    } else if (this.mode === MODE_VERTICAL) {
      if (++this.page > this.pageEnd) {
        this.page = this.pageStart;
        if (++this.col > this.colEnd) this.col = this.colStart;
      }
    } else if (++this.col >= COLUMNS) {
      this.col = this.pageModeColStart;   // page mode: wraps within the page
    }
  }

  commandByte(byte) {
    if (this.cmd !== null) {
      this.args.push(byte);
      if (this.args.length >= this.need) {
        const cmd = this.cmd;
        const args = this.args;
        this.cmd = null;
        this.args = [];
        this.execute(cmd, args);
      }
      return;
    }
    const need = ARGS.get(byte) || 0;
    if (need) {
      this.cmd = byte;
      this.need = need;
      return;
    }
    this.execute(byte, []);
  }

  execute(cmd, args) {
    this.version++;
    if (cmd === CMD_DISPLAY_OFF || cmd === CMD_DISPLAY_ON) {
      this.displayOn = cmd === CMD_DISPLAY_ON;
    } else if (cmd === CMD_CONTRAST) {
      this.contrast = args[0];
    } else if (cmd === CMD_ENTIRE_ON || cmd === CMD_ENTIRE_ON_RESUME) {
      this.entireOn = cmd === CMD_ENTIRE_ON;
    } else if (cmd === CMD_NORMAL || cmd === CMD_INVERT) {
      this.inverted = cmd === CMD_INVERT;
    } else if (cmd === CMD_MEMORY_MODE) {
      if ((args[0] & 3) !== 3) this.mode = args[0] & 3;   // 11b is invalid: ignored
    } else if (cmd === CMD_COLUMN_ADDR) {
      this.colStart = args[0] & 0x7f;
      this.colEnd = args[1] & 0x7f;
      this.col = this.colStart;
    } else if (cmd === CMD_PAGE_ADDR) {
      this.pageStart = args[0] & 0x07;
      this.pageEnd = args[1] & 0x07;
      this.page = this.pageStart;
    } else if (cmd >= CMD_PAGE_START && cmd <= CMD_PAGE_START + 7) {
      if (this.mode === MODE_PAGE) this.page = cmd & 0x07;
    } else if (cmd < CMD_HIGH_COLUMN) {
      if (this.mode === MODE_PAGE) {
        this.pageModeColStart = (this.pageModeColStart & 0xf0) | (cmd & 0x0f);
        this.col = this.pageModeColStart;
      }
    } else if (cmd < CMD_MEMORY_MODE) {
      if (this.mode === MODE_PAGE) {
        this.pageModeColStart = (this.pageModeColStart & 0x0f) | ((cmd & 0x07) << 4);
        this.col = this.pageModeColStart;
      }
    } else if (cmd >= CMD_START_LINE && cmd <= CMD_START_LINE + 63) {
      this.startLine = cmd & 0x3f;
    } else if (cmd === CMD_SEG_REMAP || cmd === CMD_SEG_REMAP + 1) {
      this.segRemap = (cmd & 1) === 1;
    } else if (cmd === CMD_MULTIPLEX) {
      const mux = (args[0] & 0x3f) + 1;
      if (mux >= 16) this.multiplex = mux;    // below 16 is invalid: the old ratio stays
    } else if (cmd >= CMD_COM_SCAN_INC && cmd <= CMD_COM_SCAN_INC + 15) {
      this.comRemap = (cmd & 0x08) !== 0;
    } else if (cmd === CMD_DISPLAY_OFFSET) {
      this.displayOffset = args[0] & 0x3f;
    }
    // Other commands (timing, charge pump, scrolling, NOP) change nothing visible here.
  }

  // The panel's pixel at (x, y): 1 lit, 0 dark.
  pixel(x, y) {
    if (!this.displayOn || y >= this.multiplex) return 0;
    if (this.entireOn) return 1;
    const col = this.segRemap ? x : COLUMNS - 1 - x;
    const mux = this.multiplex;
    const com = mux - 1 - y;
    const counter = this.comRemap ? mux - 1 - com : com;
    const row = (counter + this.displayOffset + this.startLine) % 64;
    const v = (this.gddram[(row >> 3) * COLUMNS + col] >> (row & 7)) & 1;
    return this.inverted ? v ^ 1 : v;
  }

  // The visible image, one byte (0 or 1) per pixel, row by row.
  image() {
    const out = new Uint8Array(this.width * this.height);
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) out[y * this.width + x] = this.pixel(x, y);
    }
    return out;
  }
}
