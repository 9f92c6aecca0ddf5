# The OLED: drawing straight into adafruit_ssd1306's page-major buffer, and flushes that
# send the panel only the bytes that changed since the previous flush.

from fob import font

from micropython import const


# SSD1306 commands (datasheet section 9).
_SET_COLUMN_ADDRESS = const(0x21)
_SET_PAGE_ADDRESS = const(0x22)
_SET_CONTRAST = const(0x81)
_DISPLAY_ON = const(0xAF)
# I2C control bytes: Co=0 with D/C#=0 starts a command stream, D/C#=1 a data stream.
_CONTROL_COMMANDS = const(0x00)
_CONTROL_DATA = const(0x40)
# A new window costs a control byte and six command bytes, then a data control byte; two
# changed runs closer than this are cheaper sent as one.
_WINDOW_COST = const(8)


class Display:
    """Frame buffer over an SSD1306 (128 wide, 32 or 64 high) with changed-window flushes."""

    def __init__(self, i2c, width, height, address=0x3C, oled=None):
        # The panel is lit by a flush, once it holds a frame of ours (see power()).
        self._light = oled is None
        if oled is None:
            oled = _panel(width, height, i2c, address)
        self.oled = oled
        self.width = width
        self.height = height
        self.pages = height // 8
        # The driver's buffer holds the data control byte first, then the frame.
        self.buf = oled.buffer
        size = self.pages * width
        # What the panel shows: the driver cleared it and sent a blank frame while starting,
        # or (our panel) nothing of ours yet, so the first flush sends every page whole.
        self._shadow = bytearray(self.buf[1:1 + size])
        self._full = self._light
        self._cmd = bytearray(7)
        self._cmd[0] = _CONTROL_COMMANDS
        self._cmd[1] = _SET_COLUMN_ADDRESS
        self._cmd[4] = _SET_PAGE_ADDRESS
        self._data = bytearray(width + 1)
        self._data[0] = _CONTROL_DATA
        # Narrow panels sit in the middle of the controller's 128 columns (as the driver does).
        self._col_offset = (128 - width) // 2 if width != 128 else 0
        self.bytes_sent = 0
        self.flushes = 0
        self.on = True
        self._contrast = None
        # Why the panel stopped answering (the OSError), or None. While set, nothing is
        # sent: the frame buffer keeps being drawn, and recover() brings the panel back.
        self.fault = None

    # Drawing; y is in pixels for pixels, in pages (8 px rows) for text and glyphs.

    def clear(self):
        buf = self.buf
        for i in range(1, len(buf)):
            buf[i] = 0

    def clear_area(self, x0, page0, x1, page1):
        """Clear columns x0..x1-1 on pages page0..page1-1."""
        buf = self.buf
        w = self.width
        if x0 < 0:
            x0 = 0
        if x1 > w:
            x1 = w
        for page in range(page0, page1):
            base = 1 + page * w
            for x in range(x0, x1):
                buf[base + x] = 0

    def pixel(self, x, y, on=True):
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 1 + (y >> 3) * self.width + x
            if on:
                self.buf[i] |= 1 << (y & 7)
            else:
                self.buf[i] &= ~(1 << (y & 7)) & 0xFF

    def get_pixel(self, x, y):
        return (self.buf[1 + (y >> 3) * self.width + x] >> (y & 7)) & 1

    def hline(self, x0, x1, y, on=True):
        for x in range(x0, x1):
            self.pixel(x, y, on)

    def invert_area(self, x0, page0, x1, page1):
        buf = self.buf
        w = self.width
        for page in range(page0, page1):
            base = 1 + page * w
            for x in range(max(0, x0), min(w, x1)):
                buf[base + x] ^= 0xFF

    def _column(self, x, page, byte, lo, hi):
        if lo <= x < hi:
            self.buf[1 + page * self.width + x] = byte

    def text(self, s, x, page, lo=0, hi=None):
        """Small-font text at column x on a page, clipped to columns lo..hi-1; returns the end x."""
        if hi is None:
            hi = self.width
        for ch in s:
            if x >= hi:
                break
            o = ord(ch)
            n = font.cells(o)
            if n == 1:
                x = self._glyph(o, x, page, lo, hi, 0)
                continue
            # No glyph: the code point's hex digits, inverted.
            while n:
                n -= 1
                d = (o >> (4 * n)) & 15
                x = self._glyph(d + (0x30 if d < 10 else 0x57), x, page, lo, hi, 0xFF)
        return x

    def _glyph(self, o, x, page, lo, hi, invert):
        if x + font.CELL_W > lo:
            small = font.SMALL
            at = font.small_offset(o)
            for c in range(font.SMALL_W):
                self._column(x + c, page, small[at + c] ^ invert, lo, hi)
            self._column(x + font.SMALL_W, page, invert, lo, hi)
        return x + font.CELL_W

    def number(self, value, x, page, width=0):
        """Draw a non-negative int in the small font right-aligned in ``width`` characters
        ending before column x + width * 6 (or left-aligned when width is 0); no allocation."""
        digits = 1
        v = value
        while v >= 10:
            v //= 10
            digits += 1
        if width > digits:
            x += (width - digits) * font.CELL_W
        x += (digits - 1) * font.CELL_W
        v = value
        small = font.SMALL
        while True:
            o = font.small_offset(0x30 + v % 10)
            for c in range(font.SMALL_W):
                self._column(x + c, page, small[o + c], 0, self.width)
            v //= 10
            if v == 0:
                break
            x -= font.CELL_W

    def big(self, s, x, page):
        """Big-font text (codes) with its top on ``page``; a space is a group gap."""
        buf = self.buf
        w = self.width
        table = font.BIG
        for ch in s:
            if ch == " ":
                x += font.BIG_GROUP_GAP
                continue
            o = font.big_offset(ch)
            if o >= 0:
                for p in range(font.BIG_PAGES):
                    base = 1 + (page + p) * w
                    for c in range(font.BIG_W):
                        if 0 <= x + c < w:
                            buf[base + x + c] = table[o + p * font.BIG_W + c]
            x += font.BIG_ADVANCE
        return x

    # The panel.

    def power(self, on):
        was = self.on
        self.on = on
        if on == was:
            return
        if on:
            # Lit by the next flush: lit now, the panel would show what it held before the
            # sleep (an old code) while the new frame goes out.
            self._light = True
            return
        self._light = False
        if self.fault is None:
            try:
                self.oled.poweroff()
            except OSError as e:
                self.fault = e

    def contrast(self, value):
        self._contrast = value
        if self.fault is None:
            try:
                self.oled.contrast(value)
            except OSError as e:
                self.fault = e

    def recover(self):
        """Start the panel again after a fault: its set-up commands, a blank frame, the
        power state and contrast asked for meanwhile. Returns True once it answers; the
        screen must then be drawn again (the driver's set-up clears the frame buffer)."""
        oled = self.oled
        try:
            oled.init_display()
            if not self.on:
                oled.poweroff()
            if self._contrast is not None:
                oled.contrast(self._contrast)
        except OSError as e:
            self.fault = e
            return False
        shadow = self._shadow
        for i in range(len(shadow)):
            shadow[i] = 0
        self.fault = None
        return True

    def flush(self):
        """Send what changed since the last flush; returns the bytes written to the bus
        (0 while the panel is not answering: see ``fault``)."""
        if self.fault is not None:
            return 0
        try:
            sent = self._flush()
            if self._light:
                self._light = False
                self.oled.poweron()
            return sent
        except OSError as e:
            self.fault = e
            return 0

    def _flush(self):
        buf = self.buf
        shadow = self._shadow
        w = self.width
        dev = self.oled.i2c_device
        data = self._data
        cmd = self._cmd
        sent = 0
        if self._full:
            # The panel's memory is unknown (a power-up: not even a blank frame was sent).
            for page in range(self.pages):
                sent += self._send(dev, cmd, data, page, 0, w - 1)
            self._full = False
            return sent
        for page in range(self.pages):
            base = page * w
            first = 0
            while first < w and buf[1 + base + first] == shadow[base + first]:
                first += 1
            if first == w:
                continue
            last = w - 1
            while buf[1 + base + last] == shadow[base + last]:
                last -= 1
            # Split the run where an unchanged stretch is longer than a new window costs.
            start = first
            x = first
            same = 0
            while x <= last:
                if buf[1 + base + x] == shadow[base + x]:
                    same += 1
                    if same > _WINDOW_COST:
                        end = x - same
                        sent += self._send(dev, cmd, data, page, start, end)
                        while buf[1 + base + x] == shadow[base + x]:
                            x += 1
                        start = x
                        same = 0
                        continue
                else:
                    same = 0
                x += 1
            sent += self._send(dev, cmd, data, page, start, last)
        if sent:
            self.flushes += 1
        self.bytes_sent += sent
        return sent

    def _send(self, dev, cmd, data, page, x0, x1):
        w = self.width
        buf = self.buf
        shadow = self._shadow
        cmd[2] = x0 + self._col_offset
        cmd[3] = x1 + self._col_offset
        cmd[5] = page
        cmd[6] = page
        n = x1 - x0 + 1
        src = 1 + page * w + x0
        for i in range(n):
            v = buf[src + i]
            data[1 + i] = v
            shadow[src - 1 + i] = v
        with dev:
            dev.write(cmd)
        with dev:
            dev.write(data, end=n + 1)
        return len(cmd) + n + 1

    def full_refresh(self):
        """Send the whole frame with the driver (after the panel may have lost its RAM)."""
        self.oled.show()
        buf = self.buf
        for i in range(len(self._shadow)):
            self._shadow[i] = buf[1 + i]


def _panel(width, height, i2c, address):
    """adafruit_ssd1306's driver with the panel left dark by its start: the driver lights
    the panel before it clears it, and after a deep-sleep wake (the panel keeps its memory
    through it) that showed the code from before the sleep while the blank frame went out.
    Nor is that blank frame sent: the fob's first frame goes out whole instead."""
    import adafruit_ssd1306

    base = adafruit_ssd1306.SSD1306_I2C

    class Panel(base):
        starting = True

        def write_cmd(self, cmd):
            if cmd != _DISPLAY_ON or not self.starting:
                base.write_cmd(self, cmd)

        def show(self):
            # Not the driver's blank frame at start: the fob's first frame follows whole.
            if not self.starting:
                base.show(self)

    oled = Panel(width, height, i2c, addr=address)
    oled.starting = False
    return oled
