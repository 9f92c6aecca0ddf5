"""Reading the fob's big digits back from an SSD1306's memory (GDDRAM: 8 pages of 128
column bytes, bit 0 the top row), with the firmware's own glyph table (fob/font.py), so a
test checks what the holder would read rather than what the firmware says it drew."""

import importlib.util

from otpfob import resources

COLUMNS = 128


def font():
    """The firmware's fob/font.py, loaded from the firmware folder (no sys.path change)."""
    global _FONT
    if _FONT is None:
        path = resources.firmware_dir() / "lib" / "fob" / "font.py"
        spec = importlib.util.spec_from_file_location("_otpfob_panel_font", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _FONT = mod
    return _FONT


_FONT = None
_GLYPHS = None


def _glyphs():
    global _GLYPHS
    if _GLYPHS is None:
        f = font()
        n = f.BIG_W * f.BIG_PAGES
        _GLYPHS = {bytes(f.BIG[f.big_offset(c) : f.big_offset(c) + n]): c for c in f.BIG_CHARS}
    return _GLYPHS


def big_text(ram, page, width=COLUMNS):
    """The big-font characters drawn with their top on ``page`` (the gap between digit
    groups is dropped)."""
    f = font()
    glyphs = _glyphs()
    out, x = "", 0
    while x <= width - f.BIG_W:
        cell = bytes(
            ram[(page + p) * COLUMNS + x + c] for p in range(f.BIG_PAGES) for c in range(f.BIG_W)
        )
        ch = glyphs.get(cell) if any(cell) else None
        if ch is not None:
            out += ch
            x += f.BIG_W
        else:
            x += 1
    return out


def big_digits(ram, pages=8):
    """The longest run of big digits on any page row of the panel ("" when none)."""
    best = ""
    for page in range(pages - font().BIG_PAGES + 1):
        text = "".join(ch for ch in big_text(ram, page) if ch.isdigit())
        if len(text) > len(best):
            best = text
    return best


def ram_from_pixels(pixel, width, height):
    """GDDRAM bytes from a pixel reader ``pixel(x, y) -> bool`` (a screenshot's pixels)."""
    ram = bytearray(COLUMNS * ((height + 7) // 8))
    for y in range(height):
        for x in range(width):
            if pixel(x, y):
                ram[(y >> 3) * COLUMNS + x] |= 1 << (y & 7)
    return ram
