# Labels in any script. The small font draws printable ASCII; any other issuer or name
# comes from the host drawn as a strip (16 px high, shaped there, in GNU Unifont), kept in
# its own file under labels/ beside the vault and named after the text's CRC, so a strip
# serves every account with that text and a rename or delete needs no strip change. The
# fob reads only the strips it draws. Imported by fob/ui.py and fob/question.py when a
# label has a field the small font cannot draw; fob/label_store.py writes the files.
#
# A file: "L" | 1 | text length u8 | text (UTF-8) | strip length u16 le | strip | CRC-32
# (u32 le) of all before it. A strip is one byte per column for rows 0-7 (page 0), then
# one per column for rows 8-15 (page 1), bit 0 at the top, as the panel takes them.
# A strip that is missing, damaged or for another text is no strip: the field is drawn
# with the small font (a code point it has no glyph for as inverted hex digits).
#
# In a row with a strip, the row is two pages high, a field without one sits on the lower
# page, and the bar between issuer and name is lit on both pages. No strip has a column lit
# top to bottom (fob/label_store.py clears one such pixel) and no small-font text lights
# the upper page, so the bar still tells the fields apart; and a strip always lights its
# upper page, so it never passes for small-font text.
from fob import font
from fob.vault import crc32, join

DIR = "labels"
# Widest strip (columns): 64 bytes of text in Unifont are at most 512 columns.
WIDTH_MAX = 640
HEAD = 5  # "L", version, text length, then (after the text) the strip's length
# Strips for a question not yet answered (a host's add or rename), set by the prompt's
# wording and taken by the question drawn with that very prompt: (prompt, {text: strip}).
held = None


def name(b):
    """The file name of the strip of UTF-8 text ``b``."""
    return "%08x" % (crc32(b) & 0x3FFFFFFF)


def path(root, b):
    return join(join(root, DIR), name(b))


def check(raw, b):
    """The strip in file contents ``raw`` if they are whole and for text ``b``, else None."""
    n = len(b)
    if len(raw) < HEAD + n + 4 or raw[0] != 0x4C or raw[1] != 1 or raw[2] != n or \
            raw[3:3 + n] != b:
        return None
    end = HEAD + n + (raw[3 + n] | (raw[4 + n] << 8))
    m = memoryview(raw)
    if len(raw) != end + 4 or crc32(m[:end]) != int.from_bytes(raw[end:], "little"):
        return None
    return m[HEAD + n:end]


def load(vault, text):
    """The strip stored beside ``vault`` (its folder, its file layer) for ``text``, or
    None (plain text, none stored, damaged)."""
    if not text or font.plain(text):
        return None
    b = text.encode()
    p = path(vault.root, b)
    n = vault.fs.size(p)
    if not n or n > 2 * WIDTH_MAX + 80:
        return None
    try:
        f = vault.fs.open(p, "rb")
        try:
            raw = f.read(n)
        finally:
            f.close()
    except OSError:
        return None
    return check(raw, b)


def pair(vault, acc):
    """(issuer strip, name strip) of an account, or None when it has neither."""
    a = load(vault, acc.issuer)
    b = load(vault, acc.name)
    return None if a is None and b is None else (a, b)


def field_width(s, strip):
    return len(strip) >> 1 if strip is not None else len(s) and font.text_width(s) + 1


def width(issuer, name, strips):
    """Columns of a label drawn by draw()."""
    w = field_width(name, strips[1])
    return w + field_width(issuer, strips[0]) + font.CELL_W if issuer else w


def field(d, s, strip, x, page, lo, hi):
    """One field in a two-page row at column x, clipped to columns lo..hi-1; the end x."""
    if strip is None:
        return d.text(font.edges(s), x, page + 1, lo, hi)
    w = len(strip) >> 1
    a = x if x > lo else lo
    b = x + w if x + w < hi else hi
    buf = d.buf
    for p in (0, 1):
        if a < b:
            base = 1 + (page + p) * d.width
            buf[base + a:base + b] = strip[p * w + a - x:p * w + b - x]
    return x + w


def draw(d, issuer, name, strips, x, page, lo, hi):
    """A label (issuer, bar, name) two pages high from ``page``; the end x."""
    if issuer:
        x = field(d, issuer, strips[0], x, page, lo, hi) + font.CELL_W
        if lo <= x - 4 < hi:
            for p in (page, page + 1):
                d.buf[1 + p * d.width + x - 4] = 0xFF
    return field(d, name, strips[1], x, page, lo, hi)


_MEDIUM_ADVANCE = 12


def _double(b):
    # Rows 0-3 of a small-font column, each doubled: one page.
    out = 0
    for i in range(4):
        if (b >> i) & 1:
            out |= 3 << (2 * i)
    return out


def medium(d, s, x, page):
    """A code two pages high (the small font doubled), for a 32 px panel whose label row
    is a strip; a space is a group gap. Returns the end x."""
    buf = d.buf
    w = d.width
    for ch in s:
        if ch == " ":
            x += font.BIG_GROUP_GAP
            continue
        o = font.small_offset(ord(ch))
        for c in range(2 * font.SMALL_W):
            if 0 <= x + c < w:
                b = font.SMALL[o + (c >> 1)]
                buf[1 + page * w + x + c] = _double(b)
                buf[1 + (page + 1) * w + x + c] = _double(b >> 4)
        x += _MEDIUM_ADVANCE
    return x


def medium_width(s):
    n = 0
    for ch in s:
        n += font.BIG_GROUP_GAP if ch == " " else _MEDIUM_ADVANCE
    return n - 2 if n else 0


def draw_list(d, vault, accs, cursor, drawn):
    """The list of entries where some label has strips: such a row is two pages high,
    the others one (``drawn(acc)`` in the small font); the cursor's row inverted."""
    rows = {}

    def row(i):
        # (account, strips, pages high), read once a draw.
        r = rows.get(i)
        if r is None:
            acc = accs[i]
            st = pair(vault, acc)
            r = rows[i] = (acc, st, 1 if st is None else 2)
        return r

    # From the cursor up, as many entries as fit with it; then down from there.
    top = cursor
    used = row(cursor)[2]
    while top > 0 and used + row(top - 1)[2] <= d.pages:
        top -= 1
        used += row(top)[2]
    page = 0
    i = top
    while i < len(accs) and page + row(i)[2] <= d.pages:
        acc, st, h = row(i)
        if st is None:
            d.text(drawn(acc), 2, page)
        else:
            draw(d, acc.issuer, acc.name, st, 2, page, 0, d.width)
        if i == cursor:
            d.invert_area(0, page, d.width, page + h)
        page += h
        i += 1
