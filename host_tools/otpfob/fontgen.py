"""Generates the firmware's big code font (``BIG`` in firmware/lib/fob/font.py).

The big glyphs are the small 5x7 glyphs stretched 2x3, with the inside corner of each
diagonal step filled so slanted strokes stay joined. The firmware carries the result as a
bytes literal: built at import it cost the fob heap for the builder and its temporaries.
tests/unit/test_font_big.py checks the literal against this generator.

Run: ``.venv/bin/python -m otpfob.fontgen`` prints the literal to paste into font.py.
"""

import sys

from otpfob.resources import use_firmware

use_firmware()

from fob import font  # noqa: E402

# 5x7 master of the bullet drawn for "*" (a hidden code's digit), in column form.
BULLET = b"\x00\x1c\x1c\x1c\x00"
# Rows of the 24-pixel cell above the stretched 21-pixel glyph, to centre it.
TOP = 1


def master(ch):
    if ch == "*":
        return BULLET
    o = font.small_offset(ord(ch))
    return font.SMALL[o : o + font.SMALL_W]


def stretch(cols):
    w, pages = font.BIG_W, font.BIG_PAGES
    on = [[(cols[x] >> y) & 1 for x in range(font.SMALL_W)] for y in range(7)]
    big = [[0] * w for _ in range(pages * 8)]
    for y in range(7):
        for x in range(font.SMALL_W):
            if on[y][x]:
                for yy in range(3):
                    for xx in range(2):
                        big[TOP + 3 * y + yy][2 * x + xx] = 1
    for y in range(6):
        for x in range(font.SMALL_W - 1):
            a, b = on[y][x], on[y][x + 1]
            c, d = on[y + 1][x], on[y + 1][x + 1]
            yy = TOP + 3 * y + 2
            if a and d and not b and not c:
                big[yy + 1][2 * x + 1] = 1
                big[yy][2 * x + 2] = 1
            elif b and c and not a and not d:
                big[yy][2 * x + 1] = 1
                big[yy + 1][2 * x + 2] = 1
    out = bytearray(w * pages)
    for page in range(pages):
        for x in range(w):
            v = 0
            for bit in range(8):
                if big[page * 8 + bit][x]:
                    v |= 1 << bit
            out[page * w + x] = v
    return bytes(out)


def build():
    return b"".join(stretch(master(ch)) for ch in font.BIG_CHARS)


def literal():
    """BIG as source lines: a glyph is three lines, one per page of column bytes."""
    w = font.BIG_W
    lines = ["BIG = ("]
    for ch in font.BIG_CHARS:
        g = stretch(master(ch))
        for page in range(font.BIG_PAGES):
            text = "".join("\\x%02x" % b for b in g[page * w : (page + 1) * w])
            lines.append('    b"%s"%s' % (text, "  # " + ch if page == 0 else ""))
    lines.append(")")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(literal())
