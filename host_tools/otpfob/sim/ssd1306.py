"""Register-level model of the Solomon Systech SSD1306 OLED controller (datasheet rev. 1.1).

The I2C stream is decoded as the chip does (datasheet 8.1.5.2): every transaction starts
with a control byte; Co=0 makes the rest of the transaction a stream of commands (D/C#=0)
or GDDRAM data (D/C#=1); Co=1 means one byte follows and then another control byte.
A command's argument bytes may arrive in later transactions (drivers send one byte per
transaction), so the command parser keeps its state across transactions.

The visible image assumes a module mounted the usual way: segment remap (0xA1) and
remapped COM scan (0xC8) show GDDRAM column 0 at the left and page 0 bit 0 at the top.
Runs on CPython and MicroPython; Pillow is imported only by ``render_png``.
"""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


# Control byte (datasheet 8.1.5.2).
CTRL_CO = const(0x80)  # continuation: 1 = one byte then another control byte
CTRL_DC = const(0x40)  # 1 = data (GDDRAM), 0 = command

# Fundamental commands (datasheet 10.1, table 9-1).
CMD_CONTRAST = const(0x81)  # + 1 byte
CMD_ENTIRE_ON_RESUME = const(0xA4)
CMD_ENTIRE_ON = const(0xA5)
CMD_NORMAL = const(0xA6)
CMD_INVERT = const(0xA7)
CMD_DISPLAY_OFF = const(0xAE)
CMD_DISPLAY_ON = const(0xAF)
CMD_NOP = const(0xE3)
# Scrolling (10.2).
CMD_SCROLL_RIGHT = const(0x26)  # + 6 bytes
CMD_SCROLL_LEFT = const(0x27)  # + 6 bytes
CMD_SCROLL_VRIGHT = const(0x29)  # + 5 bytes
CMD_SCROLL_VLEFT = const(0x2A)  # + 5 bytes
CMD_SCROLL_OFF = const(0x2E)
CMD_SCROLL_ON = const(0x2F)
CMD_VSCROLL_AREA = const(0xA3)  # + 2 bytes
# Addressing (10.3).
CMD_LOW_COLUMN = const(0x00)  # 0x00-0x0F, page mode
CMD_HIGH_COLUMN = const(0x10)  # 0x10-0x1F, page mode
CMD_MEMORY_MODE = const(0x20)  # + 1 byte: 0 horizontal, 1 vertical, 2 page
CMD_COLUMN_ADDR = const(0x21)  # + 2 bytes: start, end
CMD_PAGE_ADDR = const(0x22)  # + 2 bytes: start, end
CMD_PAGE_START = const(0xB0)  # 0xB0-0xB7, page mode
# Hardware configuration (10.4).
CMD_START_LINE = const(0x40)  # 0x40-0x7F
CMD_SEG_REMAP = const(0xA0)  # 0xA0 / 0xA1
CMD_MULTIPLEX = const(0xA8)  # + 1 byte: mux ratio - 1 (15..63)
CMD_COM_SCAN_INC = const(0xC0)
CMD_COM_SCAN_DEC = const(0xC8)
CMD_DISPLAY_OFFSET = const(0xD3)  # + 1 byte
CMD_COM_PINS = const(0xDA)  # + 1 byte
# Timing and driving (10.5), charge pump (application note).
CMD_CLOCK_DIV = const(0xD5)  # + 1 byte
CMD_PRECHARGE = const(0xD9)  # + 1 byte
CMD_VCOMH = const(0xDB)  # + 1 byte
CMD_CHARGE_PUMP = const(0x8D)  # + 1 byte
CMD_IREF = const(0xAD)  # + 1 byte (later SSD1306 revisions; drivers send it)
CMD_FADE = const(0x23)  # + 1 byte (SSD1306B)
CMD_ZOOM = const(0xD6)  # + 1 byte (SSD1306B)

MODE_HORIZONTAL = const(0)
MODE_VERTICAL = const(1)
MODE_PAGE = const(2)

COLUMNS = const(128)
PAGES = const(8)

_ARGS = {
    CMD_CONTRAST: 1,
    CMD_MEMORY_MODE: 1,
    CMD_COLUMN_ADDR: 2,
    CMD_PAGE_ADDR: 2,
    CMD_MULTIPLEX: 1,
    CMD_DISPLAY_OFFSET: 1,
    CMD_COM_PINS: 1,
    CMD_CLOCK_DIV: 1,
    CMD_PRECHARGE: 1,
    CMD_VCOMH: 1,
    CMD_CHARGE_PUMP: 1,
    CMD_IREF: 1,
    CMD_FADE: 1,
    CMD_ZOOM: 1,
    CMD_SCROLL_RIGHT: 6,
    CMD_SCROLL_LEFT: 6,
    CMD_SCROLL_VRIGHT: 5,
    CMD_SCROLL_VLEFT: 5,
    CMD_VSCROLL_AREA: 2,
}


class SSD1306:
    """The controller with a ``width`` x ``height`` panel (128x64 or 128x32)."""

    ADDRESS = 0x3C

    def __init__(self, width=128, height=64):
        if width != COLUMNS or height not in (16, 32, 64):
            raise ValueError("unsupported panel size %dx%d" % (width, height))
        self.width = width
        self.height = height
        self.gddram = bytearray(COLUMNS * PAGES)
        self.unknown_commands = []
        # Seconds the panel was lit, when given a clock (a callable): for power figures.
        self.clock = None
        self.on_seconds = 0.0
        self._on_since = None
        self.display_off_commands = 0
        self.reset_counters()
        self.reset()

    def reset(self):
        """Power-on reset values (datasheet 8.9 and the command table's reset column)."""
        self.display_on = False
        self.contrast = 0x7F
        self.entire_on = False
        self.inverted = False
        self.mode = MODE_PAGE
        self.col_start, self.col_end = 0, COLUMNS - 1
        self.page_start, self.page_end = 0, PAGES - 1
        self.col = 0
        self.page = 0
        self.page_mode_col_start = 0
        self.start_line = 0
        self.seg_remap = False
        self.com_remap = False
        self.multiplex = 64
        self.display_offset = 0
        self.com_pins = 0x12
        self.clock_div = 0x80
        self.precharge = 0x22
        self.vcomh = 0x20
        self.charge_pump = False
        self.scrolling = False
        self._cmd = None
        self._args = bytearray()
        self._need = 0
        self.version = 0

    def _count_on(self, on):
        if not on:
            self.display_off_commands += 1
        if self.clock is None:
            return
        now = self.clock()
        if self._on_since is not None:
            self.on_seconds += now - self._on_since
        self._on_since = now if on else None

    def lit_seconds(self):
        """Seconds the panel has been on (display-on command to display-off)."""
        if self._on_since is None or self.clock is None:
            return self.on_seconds
        return self.on_seconds + self.clock() - self._on_since

    def reset_counters(self):
        self.bytes_received = 0
        self.transactions = 0
        self.data_bytes = 0

    # -- I2C -------------------------------------------------------------------------------
    def i2c_write(self, data, stop=True):
        self.transactions += 1
        self.bytes_received += len(data)
        i, n = 0, len(data)
        while i < n:
            control = data[i]
            i += 1
            is_data = bool(control & CTRL_DC)
            if control & CTRL_CO:
                if i < n:
                    self._feed(data[i], is_data)
                    i += 1
                continue
            while i < n:
                self._feed(data[i], is_data)
                i += 1

    def i2c_read(self, n):
        # Status read (datasheet 8.1.5.2): bit 6 is 1 while the display is off.
        self.transactions += 1
        status = 0x00 if self.display_on else 0x40
        return bytes([status] * n)

    def _feed(self, byte, is_data):
        if is_data:
            self._write_ram(byte)
        else:
            self._command_byte(byte)

    # -- GDDRAM pointer --------------------------------------------------------------------
    def _write_ram(self, byte):
        self.data_bytes += 1
        self.gddram[self.page * COLUMNS + self.col] = byte
        self.version += 1
        if self.mode == MODE_HORIZONTAL:
            self.col += 1
            if self.col > self.col_end:
                self.col = self.col_start
                self.page += 1
                if self.page > self.page_end:
                    self.page = self.page_start
        elif self.mode == MODE_VERTICAL:
            self.page += 1
            if self.page > self.page_end:
                self.page = self.page_start
                self.col += 1
                if self.col > self.col_end:
                    self.col = self.col_start
        else:
            # Page mode: the column wraps within the page, the page never changes.
            self.col += 1
            if self.col >= COLUMNS:
                self.col = self.page_mode_col_start

    # -- commands --------------------------------------------------------------------------
    def _command_byte(self, byte):
        if self._cmd is not None:
            self._args.append(byte)
            if len(self._args) >= self._need:
                cmd, args = self._cmd, bytes(self._args)
                self._cmd = None
                self._args = bytearray()
                self._execute(cmd, args)
            return
        need = _ARGS.get(byte, 0)
        if need:
            self._cmd = byte
            self._need = need
            return
        self._execute(byte, b"")

    def _execute(self, cmd, args):
        before = self.version
        self.version += 1
        if cmd == CMD_DISPLAY_OFF or cmd == CMD_DISPLAY_ON:
            self._count_on(cmd == CMD_DISPLAY_ON)
            self.display_on = cmd == CMD_DISPLAY_ON
        elif cmd == CMD_CONTRAST:
            self.contrast = args[0]
        elif cmd == CMD_ENTIRE_ON or cmd == CMD_ENTIRE_ON_RESUME:
            self.entire_on = cmd == CMD_ENTIRE_ON
        elif cmd == CMD_NORMAL or cmd == CMD_INVERT:
            self.inverted = cmd == CMD_INVERT
        elif cmd == CMD_MEMORY_MODE:
            mode = args[0] & 0x03
            # A[1:0] = 11b is invalid (datasheet table 10-1): the chip ignores it.
            if mode != 3:
                self.mode = mode
        elif cmd == CMD_COLUMN_ADDR:
            self.col_start = args[0] & 0x7F
            self.col_end = args[1] & 0x7F
            self.col = self.col_start
        elif cmd == CMD_PAGE_ADDR:
            self.page_start = args[0] & 0x07
            self.page_end = args[1] & 0x07
            self.page = self.page_start
        elif CMD_PAGE_START <= cmd <= CMD_PAGE_START + 7:
            if self.mode == MODE_PAGE:
                self.page = cmd & 0x07
        elif cmd < CMD_HIGH_COLUMN:
            if self.mode == MODE_PAGE:
                self.page_mode_col_start = (self.page_mode_col_start & 0xF0) | (cmd & 0x0F)
                self.col = self.page_mode_col_start
        elif cmd < CMD_MEMORY_MODE:
            if self.mode == MODE_PAGE:
                self.page_mode_col_start = (self.page_mode_col_start & 0x0F) | ((cmd & 0x07) << 4)
                self.col = self.page_mode_col_start
        elif CMD_START_LINE <= cmd <= CMD_START_LINE + 63:
            self.start_line = cmd & 0x3F
        elif cmd == CMD_SEG_REMAP or cmd == CMD_SEG_REMAP + 1:
            self.seg_remap = bool(cmd & 1)
        elif cmd == CMD_MULTIPLEX:
            mux = (args[0] & 0x3F) + 1
            # Values below 15 are invalid (datasheet 10.1.11); the chip keeps the old ratio.
            if mux >= 16:
                self.multiplex = mux
        elif CMD_COM_SCAN_INC <= cmd <= CMD_COM_SCAN_INC + 15:
            self.com_remap = bool(cmd & 0x08)
        elif cmd == CMD_DISPLAY_OFFSET:
            self.display_offset = args[0] & 0x3F
        elif cmd == CMD_COM_PINS:
            self.com_pins = args[0]
        elif cmd == CMD_CLOCK_DIV:
            self.clock_div = args[0]
        elif cmd == CMD_PRECHARGE:
            self.precharge = args[0]
        elif cmd == CMD_VCOMH:
            self.vcomh = args[0]
        elif cmd == CMD_CHARGE_PUMP:
            self.charge_pump = bool(args[0] & 0x04)
        elif cmd == CMD_SCROLL_OFF:
            self.scrolling = False
        elif cmd == CMD_SCROLL_ON:
            # Scrolling is accepted but not animated.
            self.scrolling = True
        elif cmd in _ARGS or cmd == CMD_NOP:
            pass
        else:
            self.unknown_commands.append(cmd)
            self.version = before

    # -- the visible image -----------------------------------------------------------------
    def ram_pixel(self, col, row):
        return (self.gddram[(row >> 3) * COLUMNS + col] >> (row & 7)) & 1

    def pixel(self, x, y):
        """The panel's pixel at (x, y), as lit (1) or dark (0)."""
        if not self.display_on or y >= self.multiplex:
            return 0
        if self.entire_on:
            return 1
        col = x if self.seg_remap else COLUMNS - 1 - x
        mux = self.multiplex
        com = mux - 1 - y
        counter = mux - 1 - com if self.com_remap else com
        row = (counter + self.display_offset + self.start_line) % 64
        v = self.ram_pixel(col, row)
        return v ^ 1 if self.inverted else v

    def rows(self):
        """The visible image as a list of rows of 0/1 ints."""
        out = []
        for y in range(self.height):
            out.append([self.pixel(x, y) for x in range(self.width)])
        return out

    def lit_count(self):
        return sum(sum(r) for r in self.rows())

    def render_text(self, on="#", off="."):
        return "\n".join("".join(on if p else off for p in r) for r in self.rows())

    def render_image(self, scale=1):
        """A 1-bit Pillow image of the panel."""
        from PIL import Image

        img = Image.new("1", (self.width, self.height), 0)
        px = img.load()
        for y, r in enumerate(self.rows()):
            for x, v in enumerate(r):
                if v:
                    px[x, y] = 1
        if scale != 1:
            img = img.resize((self.width * scale, self.height * scale), Image.NEAREST)
        return img

    def render_png(self, path, scale=1):
        self.render_image(scale).save(path, "PNG")
        return path
