# Glyph data in the SSD1306 page layout: one byte per column, bit 0 at the top, so a glyph
# is drawn by copying bytes into the frame buffer.
#
# SMALL: 5x7 glyphs for printable ASCII (0x20-0x7E) in 6x8 cells, 5 column bytes each.
# BIG: 10x24 glyphs (three pages) for the code: digits, the letters Steam codes use, a
# bullet for hidden codes and a dash. They are the small glyphs stretched 2x3 with their
# diagonal steps filled, built once at import so the firmware carries one table.

SMALL_W = 5
CELL_W = 6
FIRST = 0x20
LAST = 0x7E

SMALL = (
    b"\x00\x00\x00\x00\x00"  # space
    b"\x00\x00\x5f\x00\x00"  # !
    b"\x00\x07\x00\x07\x00"  # "
    b"\x14\x7f\x14\x7f\x14"  # #
    b"\x24\x2a\x7f\x2a\x12"  # $
    b"\x23\x13\x08\x64\x62"  # %
    b"\x36\x49\x55\x22\x50"  # &
    b"\x00\x05\x03\x00\x00"  # '
    b"\x00\x1c\x22\x41\x00"  # (
    b"\x00\x41\x22\x1c\x00"  # )
    b"\x14\x08\x3e\x08\x14"  # *
    b"\x08\x08\x3e\x08\x08"  # +
    b"\x00\x50\x30\x00\x00"  # ,
    b"\x08\x08\x08\x08\x08"  # -
    b"\x00\x60\x60\x00\x00"  # .
    b"\x20\x10\x08\x04\x02"  # /
    b"\x3e\x51\x49\x45\x3e"  # 0
    b"\x00\x42\x7f\x40\x00"  # 1
    b"\x42\x61\x51\x49\x46"  # 2
    b"\x21\x41\x45\x4b\x31"  # 3
    b"\x18\x14\x12\x7f\x10"  # 4
    b"\x27\x45\x45\x45\x39"  # 5
    b"\x3c\x4a\x49\x49\x30"  # 6
    b"\x01\x71\x09\x05\x03"  # 7
    b"\x36\x49\x49\x49\x36"  # 8
    b"\x06\x49\x49\x29\x1e"  # 9
    b"\x00\x36\x36\x00\x00"  # :
    b"\x00\x56\x36\x00\x00"  # ;
    b"\x08\x14\x22\x41\x00"  # <
    b"\x14\x14\x14\x14\x14"  # =
    b"\x00\x41\x22\x14\x08"  # >
    b"\x02\x01\x51\x09\x06"  # ?
    b"\x32\x49\x79\x41\x3e"  # @
    b"\x7e\x11\x11\x11\x7e"  # A
    b"\x7f\x49\x49\x49\x36"  # B
    b"\x3e\x41\x41\x41\x22"  # C
    b"\x7f\x41\x41\x22\x1c"  # D
    b"\x7f\x49\x49\x49\x41"  # E
    b"\x7f\x09\x09\x09\x01"  # F
    b"\x3e\x41\x49\x49\x7a"  # G
    b"\x7f\x08\x08\x08\x7f"  # H
    b"\x00\x41\x7f\x41\x00"  # I
    b"\x20\x40\x41\x3f\x01"  # J
    b"\x7f\x08\x14\x22\x41"  # K
    b"\x7f\x40\x40\x40\x40"  # L
    b"\x7f\x02\x0c\x02\x7f"  # M
    b"\x7f\x04\x08\x10\x7f"  # N
    b"\x3e\x41\x41\x41\x3e"  # O
    b"\x7f\x09\x09\x09\x06"  # P
    b"\x3e\x41\x51\x21\x5e"  # Q
    b"\x7f\x09\x19\x29\x46"  # R
    b"\x46\x49\x49\x49\x31"  # S
    b"\x01\x01\x7f\x01\x01"  # T
    b"\x3f\x40\x40\x40\x3f"  # U
    b"\x1f\x20\x40\x20\x1f"  # V
    b"\x3f\x40\x38\x40\x3f"  # W
    b"\x63\x14\x08\x14\x63"  # X
    b"\x07\x08\x70\x08\x07"  # Y
    b"\x61\x51\x49\x45\x43"  # Z
    b"\x00\x7f\x41\x41\x00"  # [
    b"\x02\x04\x08\x10\x20"  # backslash
    b"\x00\x41\x41\x7f\x00"  # ]
    b"\x04\x02\x01\x02\x04"  # ^
    b"\x40\x40\x40\x40\x40"  # _
    b"\x00\x01\x02\x04\x00"  # `
    b"\x20\x54\x54\x54\x78"  # a
    b"\x7f\x48\x44\x44\x38"  # b
    b"\x38\x44\x44\x44\x20"  # c
    b"\x38\x44\x44\x48\x7f"  # d
    b"\x38\x54\x54\x54\x18"  # e
    b"\x08\x7e\x09\x01\x02"  # f
    b"\x0c\x52\x52\x52\x3e"  # g
    b"\x7f\x08\x04\x04\x78"  # h
    b"\x00\x44\x7d\x40\x00"  # i
    b"\x20\x40\x44\x3d\x00"  # j
    b"\x7f\x10\x28\x44\x00"  # k
    b"\x00\x41\x7f\x40\x00"  # l
    b"\x7c\x04\x18\x04\x78"  # m
    b"\x7c\x08\x04\x04\x78"  # n
    b"\x38\x44\x44\x44\x38"  # o
    b"\x7c\x14\x14\x14\x08"  # p
    b"\x08\x14\x14\x18\x7c"  # q
    b"\x7c\x08\x04\x04\x08"  # r
    b"\x48\x54\x54\x54\x20"  # s
    b"\x04\x3f\x44\x40\x20"  # t
    b"\x3c\x40\x40\x20\x7c"  # u
    b"\x1c\x20\x40\x20\x1c"  # v
    b"\x3c\x40\x30\x40\x3c"  # w
    b"\x44\x28\x10\x28\x44"  # x
    b"\x0c\x50\x50\x50\x3c"  # y
    b"\x44\x64\x54\x4c\x44"  # z
    b"\x00\x08\x36\x41\x00"  # {
    b"\x00\x00\x7f\x00\x00"  # |
    b"\x00\x41\x36\x08\x00"  # }
    b"\x10\x08\x08\x10\x08"  # ~
)

# Characters the big font carries; "*" is drawn as a bullet (a hidden code's digit).
BIG_CHARS = "0123456789BCDFGHJKMNPQRTVWXY-*"
BIG_W = 10
BIG_PAGES = 3
BIG_ADVANCE = 12  # glyph plus a two-column gap
BIG_GROUP_GAP = 6  # the space between digit groups ("123 456")
_BIG_BYTES = BIG_W * BIG_PAGES
# 5x7 master of the bullet, in the small glyphs' column form.
_BULLET = b"\x00\x1c\x1c\x1c\x00"
# Rows of the 24-pixel cell above the stretched 21-pixel glyph, to centre it.
_BIG_TOP = 1


def small_offset(ch):
    """Offset of the 5 column bytes of character code ``ch`` in SMALL ("?" if unprintable)."""
    if ch < FIRST or ch > LAST:
        ch = 0x3F
    return (ch - FIRST) * SMALL_W


def text_width(s):
    """Width in pixels of ``s`` in the small font (6 px cells, no trailing gap)."""
    n = len(s)
    return n * CELL_W - 1 if n else 0


def _master(ch):
    if ch == "*":
        return _BULLET
    o = small_offset(ord(ch))
    return SMALL[o:o + SMALL_W]


def _stretch(cols):
    # Pixel grid of the master (5 wide, 7 tall).
    on = [[(cols[x] >> y) & 1 for x in range(SMALL_W)] for y in range(7)]
    big = [[0] * BIG_W for _ in range(BIG_PAGES * 8)]
    for y in range(7):
        for x in range(SMALL_W):
            if on[y][x]:
                for yy in range(3):
                    for xx in range(2):
                        big[_BIG_TOP + 3 * y + yy][2 * x + xx] = 1
    # Fill the inside corner of each diagonal step so slanted strokes stay joined
    # once stretched instead of touching only at a corner.
    for y in range(6):
        for x in range(SMALL_W - 1):
            a, b = on[y][x], on[y][x + 1]
            c, d = on[y + 1][x], on[y + 1][x + 1]
            yy = _BIG_TOP + 3 * y + 2
            if a and d and not b and not c:
                big[yy + 1][2 * x + 1] = 1
                big[yy][2 * x + 2] = 1
            elif b and c and not a and not d:
                big[yy][2 * x + 1] = 1
                big[yy + 1][2 * x + 2] = 1
    out = bytearray(_BIG_BYTES)
    for page in range(BIG_PAGES):
        for x in range(BIG_W):
            v = 0
            for bit in range(8):
                if big[page * 8 + bit][x]:
                    v |= 1 << bit
            out[page * BIG_W + x] = v
    return out


def _build_big():
    table = bytearray(len(BIG_CHARS) * _BIG_BYTES)
    for i, ch in enumerate(BIG_CHARS):
        table[i * _BIG_BYTES:(i + 1) * _BIG_BYTES] = _stretch(_master(ch))
    return bytes(table)


# Per glyph: BIG_PAGES rows of BIG_W column bytes (page 0 first).
BIG = _build_big()


def big_offset(ch):
    """Offset of the glyph for character ``ch`` (a str of length 1) in BIG, or -1."""
    i = BIG_CHARS.find(ch)
    return i * _BIG_BYTES if i >= 0 else -1


def big_width(s):
    """Width in pixels of ``s`` drawn in the big font (a space is a group gap)."""
    w = 0
    for ch in s:
        w += BIG_GROUP_GAP if ch == " " else BIG_ADVANCE
    return w - (BIG_ADVANCE - BIG_W) if w and s[-1] != " " else w
