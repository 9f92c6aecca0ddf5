"""Labels as the fob draws them: a strip for every issuer or name its small font cannot draw.

The fob's own 5x7 font covers printable ASCII. Any other text is drawn here, on the
computer, into a strip 16 px high (two OLED pages) and sent with the account
(docs/protocol.md, "Label strips"); the fob stores the strip beside the vault and draws
it wherever the label shows (firmware/lib/fob/labels.py).

- Shaping: Pillow's raqm layout (HarfBuzz for shaping, FriBiDi for the order of right-to-
  left text), so Arabic letters join, Devanagari and Thai marks sit where they belong and
  Hebrew and Arabic run right to left. FriBiDi's paragraph order is taken once more here
  (through its C library, which Pillow loads too) to put runs drawn from different fonts
  or as code points in their places.
- The font: GNU Unifont (unifont.otf for the Basic Multilingual Plane, unifont_upper.otf
  for the rest, emoji among them), a pixel font drawn on a 16 px grid, so its glyphs land
  on whole pixels at 16 px. See fonts_dir() for where it comes from.
- Distinct drawings: a character is drawn as its code point (hex digits in a filled box)
  when drawing it as itself would let two different texts look alike: an invisible or
  blank one (a zero-width space, a variation selector, a no-break space, a space at the
  start or end), a combining mark that could be written precomposed (NFD "é" against NFC
  "é"), a letter of a script that is not the text's main one whose glyph is the same as a
  letter of that main script (Cyrillic "а" in a Latin word), and a character the font
  does not have (the admin is told, naming it). distinct() then compares whole drawings
  against the labels already on the fob.
"""

import ctypes
import ctypes.util
import os
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

HEIGHT = 16
WIDTH_MAX = 640  # the fob's limit (fob/labels.py WIDTH_MAX)
BASELINE = 14  # Unifont: 14 px above the baseline, 2 below
MAIN, UPPER = "unifont.otf", "unifont_upper.otf"
# Debian's fonts-unifont puts them here (the Makefile installs it).
SYSTEM_FONTS = Path("/usr/share/fonts/opentype/unifont")

# 3x5 hex digits for the code-point boxes, rows top to bottom, 3 bits each (bit 2 left).
_HEX = {
    "0": (7, 5, 5, 5, 7),
    "1": (2, 6, 2, 2, 7),
    "2": (7, 1, 7, 4, 7),
    "3": (7, 1, 3, 1, 7),
    "4": (5, 5, 7, 1, 1),
    "5": (7, 4, 7, 1, 7),
    "6": (7, 4, 7, 5, 7),
    "7": (7, 1, 1, 2, 2),
    "8": (7, 5, 7, 5, 7),
    "9": (7, 5, 7, 1, 7),
    "A": (2, 5, 7, 5, 5),
    "B": (6, 5, 6, 5, 6),
    "C": (3, 4, 4, 4, 3),
    "D": (6, 5, 5, 5, 6),
    "E": (7, 4, 6, 4, 7),
    "F": (7, 4, 6, 4, 4),
}
# Blank characters drawn as themselves: only the plain space inside a text.
_SPACE = " "


class FontMissing(Exception):
    pass


def fonts_dir():
    """The folder with unifont.otf and unifont_upper.otf: $OTPFOB_FONTS, the wheel's own
    (otpfob/bundled/fonts/, with the font's licence), or Debian's fonts-unifont."""
    from .resources import BUNDLED

    env = os.environ.get("OTPFOB_FONTS")
    for folder in ([Path(env)] if env else []) + [BUNDLED / "fonts", SYSTEM_FONTS]:
        if (folder / MAIN).is_file() and (folder / UPPER).is_file():
            return folder
    raise FontMissing(
        "GNU Unifont (%s, %s) was not found: install Debian's fonts-unifont, "
        "or set OTPFOB_FONTS to a folder holding both" % (MAIN, UPPER)
    )


@cache
def _fonts():
    from PIL import ImageFont, features

    if not features.check("raqm"):
        raise FontMissing(
            "Pillow's raqm layout (HarfBuzz, FriBiDi) is not available, so "
            "scripts such as Arabic cannot be shaped: install libfribidi0 "
            "(Debian) or fribidi (Homebrew)"
        )
    folder = fonts_dir()
    return tuple(
        ImageFont.truetype(str(folder / n), HEIGHT, layout_engine=ImageFont.Layout.RAQM)
        for n in (MAIN, UPPER)
    )


def plain(text):
    """True when the fob's own font draws all of `text` (printable ASCII): no strip."""
    return all(0x20 <= ord(c) <= 0x7E for c in text)


@dataclass
class Strip:
    """A text drawn for the fob: `data` is its wire form (page 0 bytes, then page 1),
    None when the fob draws the text itself (plain ASCII, or no strip could be made)."""

    text: str
    data: bytes = None
    width: int = 0
    missing: list = field(default_factory=list)  # characters the font does not have
    marked: list = field(default_factory=list)  # characters drawn as their code point
    problem: str = None  # why there is no strip

    @property
    def rows(self):
        """The strip as 16 rows of 0/1 pixels."""
        if self.data is None:
            return []
        w = self.width
        return [
            [(self.data[(y // 8) * w + x] >> (y % 8)) & 1 for x in range(w)] for y in range(HEIGHT)
        ]


# --- the order of runs: FriBiDi ----------------------------------------------------------


@cache
def _fribidi():
    name = ctypes.util.find_library("fribidi") or "libfribidi.so.0"
    lib = ctypes.CDLL(name)
    lib.fribidi_log2vis.restype = ctypes.c_int
    return lib


def visual_order(text):
    """(logical indexes in visual order, embedding level of each logical index) by the
    Unicode bidirectional algorithm (FriBiDi), the paragraph's direction taken from its
    first strong character."""
    n = len(text)
    if n == 0:
        return [], []
    lib = _fribidi()
    chars = (ctypes.c_uint32 * n)(*[ord(c) for c in text])
    base = ctypes.c_uint32(0x00000040)  # FRIBIDI_PAR_ON: from the first strong character
    v2l = (ctypes.c_int * n)()
    levels = (ctypes.c_int8 * n)()
    visual = (ctypes.c_uint32 * n)()
    if not lib.fribidi_log2vis(chars, n, ctypes.byref(base), visual, None, v2l, levels):
        return list(range(n)), [0] * n
    return list(v2l), list(levels)


# --- what is drawn as a code point ---------------------------------------------------------


def _script(ch):
    """The script a letter belongs to, from its Unicode name ("LATIN", "CYRILLIC"...)."""
    try:
        words = unicodedata.name(ch).split()
    except ValueError:
        return None
    if words[0] in ("FULLWIDTH", "HALFWIDTH", "SMALL", "MODIFIER") and len(words) > 1:
        return words[1]
    return words[0]


def _blank(ch):
    """Characters that draw nothing (or nothing one could tell from a space) by themselves."""
    if ch == _SPACE:
        return False
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"):
        return True
    o = ord(ch)
    return (
        0xFE00 <= o <= 0xFE0F
        or 0xE0100 <= o <= 0xE01EF
        or o
        in (
            0x034F,
            0x115F,
            0x1160,
            0x17B4,
            0x17B5,
            0x180B,
            0x180C,
            0x180D,
            0x180E,
            0x180F,
            0x2800,
            0x3164,
            0xFFA0,
        )
    )


@cache
def _glyph(ch, upper=None):
    """(advance, bitmap bytes) of one character alone in its font (or the one named)."""
    from PIL import Image, ImageDraw

    if upper is None:
        upper = ord(ch) > 0xFFFF
    font = _fonts()[1 if upper else 0]
    w = int(font.getlength(ch))
    img = Image.new("1", (max(w, 1) + 16, HEIGHT), 0)
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"
    draw.text((8, BASELINE), ch, font=font, fill=1, anchor="ls")
    return w, img.tobytes()


def _missing(ch):
    """True when the font for `ch` has no glyph for it (it would draw its .notdef box)."""
    if unicodedata.category(ch) == "Cn":
        return True
    return _glyph(ch) == _glyph("\U0010ffff", ord(ch) > 0xFFFF)


# Letters whose glyph may be the same as another script's: Latin, Greek, Cyrillic,
# Armenian, Georgian, Cherokee, their extensions, and the full-width forms.
_TWIN_RANGES = (
    (0x0041, 0x052F),
    (0x0531, 0x058F),
    (0x10A0, 0x10FF),
    (0x13A0, 0x13FF),
    (0x1D00, 0x1DBF),
    (0x1E00, 0x1FFF),
    (0x2C60, 0x2C7F),
    (0xA640, 0xA69F),
    (0xA720, 0xA7FF),
    (0xFF21, 0xFF5A),
)


@cache
def _twins():
    """{bitmap: set of scripts} over the letters of _TWIN_RANGES."""
    out = {}
    for lo, hi in _TWIN_RANGES:
        for o in range(lo, hi + 1):
            ch = chr(o)
            if unicodedata.category(ch).startswith("L"):
                out.setdefault(_glyph(ch), set()).add(_script(ch))
    return out


def _confusable(ch, main):
    """True for a letter outside the text's main script whose glyph a letter of the main
    script has too."""
    if not unicodedata.category(ch).startswith("L") or _script(ch) == main:
        return False
    return main in _twins().get(_glyph(ch), ())


def marks(text):
    """{index: reason} of the characters drawn as their code point."""
    out = {}
    letters = {}
    for ch in text:
        if unicodedata.category(ch).startswith("L"):
            s = _script(ch)
            letters[s] = letters.get(s, 0) + 1
    # The main script: the one with the most letters (ties: the first in name order).
    main = min(letters, key=lambda s: (-letters[s], s or "")) if letters else None
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if _missing(ch):
            out[i] = "missing"
        elif _blank(ch) or (ch == _SPACE and (i == 0 or i == n - 1)):
            out[i] = "blank"
        elif main and _confusable(ch, main):
            out[i] = "confusable"
        # A base and its combining marks: marks that NFC would fold into the base.
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        if j > i + 1:
            cluster = text[i:j]
            if unicodedata.normalize("NFC", cluster) != cluster:
                for k in range(i + 1, j):
                    out[k] = "decomposed"
            else:
                for k in range(i + 1, j):
                    if _missing(text[k]) or _blank(text[k]):
                        out[k] = "missing" if _missing(text[k]) else "blank"
        i = j
    return out


def _box(ch):
    """A code point in a filled box: rows 1-14, the digits cut out, then one blank column."""
    digits = "%X" % ord(ch)
    if len(digits) < 4:
        digits = digits.rjust(4, "0")
    per_row = (len(digits) + 1) // 2
    w = per_row * 4 + 1
    rows = [[0] * (w + 1) for _ in range(HEIGHT)]
    for y in range(1, 15):
        for x in range(w):
            rows[y][x] = 1
    for k, d in enumerate(digits):
        top = 2 if k < per_row else 8
        x0 = 1 + (k % per_row) * 4
        for dy, bits in enumerate(_HEX[d]):
            for dx in range(3):
                if (bits >> (2 - dx)) & 1:
                    rows[top + dy][x0 + dx] = 0
    return rows


# --- drawing ---------------------------------------------------------------------------------


def _runs(text, kinds):
    """Runs of (kind, level, logical text) in visual order: raqm draws each run, so a run
    is one font's (or one boxed character) at one embedding level."""
    order, levels = visual_order(text)
    runs = []
    for i in order:
        k = kinds[i]
        if runs and runs[-1][0] == k and k != "box" and runs[-1][1] == levels[i]:
            runs[-1][2].append(i)
        else:
            runs.append([k, levels[i], [i]])
    out = []
    for k, level, idx in runs:
        idx.sort()
        # A run is a span of logical text in the bidi algorithm; split where it is not.
        start = idx[0]
        prev = start
        for i in idx[1:] + [None]:
            if i is None or i != prev + 1:
                out.append((k, level, text[start : prev + 1]))
                if i is not None:
                    start = i
            if i is not None:
                prev = i
    return out


def draw_text(text):
    """16 rows of pixels of `text` as the strip draws it, and the marks dict."""
    from PIL import Image, ImageDraw

    m = marks(text)
    kinds = [
        "box" if i in m else ("upper" if ord(c) > 0xFFFF else "main") for i, c in enumerate(text)
    ]
    fonts = _fonts()
    pieces = []
    for kind, level, run in _runs(text, kinds):
        if kind == "box":
            pieces.append(_box(run))
            continue
        font = fonts[1 if kind == "upper" else 0]
        direction = "rtl" if level % 2 else "ltr"
        w = int(font.getlength(run, direction=direction))
        img = Image.new("1", (w + 16, HEIGHT), 0)
        d = ImageDraw.Draw(img)
        d.fontmode = "1"
        d.text((8, BASELINE), run, font=font, fill=1, anchor="ls", direction=direction)
        px = img.load()
        pieces.append([[1 if px[x + 8, y] else 0 for x in range(w)] for y in range(HEIGHT)])
    rows = [[] for _ in range(HEIGHT)]
    for p in pieces:
        for y in range(HEIGHT):
            rows[y].extend(p[y])
    return rows, m


def to_bytes(rows):
    """Rows of pixels in the fob's strip layout: page 0 columns, then page 1 columns."""
    w = len(rows[0]) if rows else 0
    out = bytearray(2 * w)
    for page in (0, 1):
        for x in range(w):
            b = 0
            for bit in range(8):
                if rows[page * 8 + bit][x]:
                    b |= 1 << bit
            out[page * w + x] = b
    return bytes(out)


def fob_form(data):
    """The strip as the fob keeps it (fob/label_store.py): a column lit top to bottom
    loses its top pixel, so only the bar between issuer and name is."""
    w = len(data) // 2
    out = bytearray(data)
    for c in range(w):
        if out[c] == 0xFF and out[w + c] == 0xFF:
            out[c] = 0xFE
    return bytes(out)


@lru_cache(maxsize=4096)
def render(text):
    """The Strip the fob gets for `text` (data None for plain ASCII, or when no strip can
    be made: then the fob draws the text's code points, and `problem` says why)."""
    s = Strip(text)
    if not text or plain(text):
        return s
    rows, m = draw_text(text)
    s.missing = [text[i] for i in sorted(m) if m[i] == "missing"]
    s.marked = [text[i] for i in sorted(m)]
    s.width = len(rows[0])
    if s.width > WIDTH_MAX:
        s.problem = "it is %d px wide, more than the fob's %d" % (s.width, WIDTH_MAX)
        s.width = 0
        return s
    data = fob_form(to_bytes(rows))
    if not any(data[: s.width]):
        s.problem = "it draws nothing on the strip's upper half, which the fob requires"
        s.width = 0
        return s
    s.data = data
    return s


def describe(ch):
    """U+0430 CYRILLIC SMALL LETTER A"""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        name = "unnamed"
    return "U+%04X %s" % (ord(ch), name)


# --- the label row as the fob draws it (its own drawing code, run here) ---------------------


def firmware_module(name):
    """The firmware's module fob.NAME, imported from the firmware folder when need be."""
    import importlib

    from .resources import use_firmware

    use_firmware()
    return importlib.import_module("fob." + name)


class _Panel:
    """What fob/display.py needs of an SSD1306 driver to draw into its buffer."""

    def __init__(self, width, height):
        self.buffer = bytearray(1 + width * height // 8)


class _Fields:
    def __init__(self, issuer, name):
        self.issuer = issuer
        self.name = name


def fob_row(issuer, name, strips=None):
    """Rows of pixels of a label as the fob draws it in a row of the list, whole (not
    clipped): `strips` is (issuer strip data, name strip data), each None for a field the
    fob draws with its own font. The firmware's own drawing code does the drawing."""
    font = firmware_module("font")
    labels = firmware_module("labels")
    ui = firmware_module("ui")
    display = firmware_module("display")
    strips = strips if strips is not None else (None, None)
    if strips[0] is None and strips[1] is None:
        text = ui.drawn(_Fields(issuer, name))
        width = max(font.text_width(text), 1)
        pages = 1
    else:
        width = max(labels.width(issuer, name, strips), 1)
        pages = 2
    d = display.Display(None, width, pages * 8, oled=_Panel(width, pages * 8))
    if pages == 1:
        d.text(text, 0, 0)
    else:
        labels.draw(d, issuer, name, strips, 0, 0, 0, width)
    return [[d.get_pixel(x, y) for x in range(width)] for y in range(pages * 8)]


def label_strips(issuer, name):
    """(issuer Strip, name Strip) as rendered for the fob."""
    return render(issuer), render(name)


def preview(issuer, name, sent=True):
    """Rows of pixels of the label as the fob will draw it, with the strips the fob gets
    (`sent` False: a fob that takes no strips, which draws code points instead)."""
    a, b = label_strips(issuer, name)
    if not sent:
        return fob_row(issuer, name)
    return fob_row(issuer, name, (a.data, b.data))


def png(rows_list, path, scale=3, gap=4):
    """Save previews (each rows of pixels) one under another as a PNG, enlarged."""
    from PIL import Image

    width = max((len(r[0]) for r in rows_list if r), default=1)
    height = sum(len(r) + gap for r in rows_list) or 1
    img = Image.new("1", (width, height), 0)
    y = 0
    for rows in rows_list:
        for dy, row in enumerate(rows):
            for x, v in enumerate(row):
                if v:
                    img.putpixel((x, y + dy), 1)
        y += len(rows) + gap
    img.convert("L").resize((width * scale, height * scale), Image.NEAREST).save(path)
    return path


def problems(issuer, name):
    """What the admin is told before a label goes to the fob: characters the font does not
    have, characters shown as their code point, a field that gets no strip."""
    out = []
    for what, s in zip(("issuer", "name"), label_strips(issuer, name), strict=True):
        for ch in s.missing:
            out.append(
                "%s %r: %s is not in the fob's font; the fob shows its code point"
                % (what, s.text, describe(ch))
            )
        for ch in s.marked:
            if ch not in s.missing:
                out.append(
                    "%s %r: %s is shown as its code point, so the label cannot pass "
                    "for another" % (what, s.text, describe(ch))
                )
        if s.problem:
            out.append(
                "%s %r gets no strip (%s): the fob shows its code points"
                % (what, s.text, s.problem)
            )
    return out


def distinct(texts, existing=()):
    """{text: other text} for each of `texts` whose strip draws the same pixels as the strip
    of a different text among `texts` and `existing` (labels already on the fob): such a
    text is sent without a strip, so the fob draws its code points."""
    seen = {}
    for t in list(existing) + list(texts):
        s = render(t)
        if s.data is not None:
            seen.setdefault(s.data, []).append(t)
    out = {}
    for t in texts:
        s = render(t)
        if s.data is None:
            continue
        others = [u for u in seen[s.data] if u != t]
        if others:
            out[t] = others[0]
    return out


def plan(pairs, existing=(), fob_takes=True):
    """For labels (issuer, name) about to go to a fob: ({text: strip bytes} to send, [what
    the admin is told]). `existing`: the issuers and names of the labels on the fob;
    `fob_takes`: its firmware draws strips (client.takes_strips)."""
    texts = list(dict.fromkeys(t for pair in pairs for t in pair if t and not plain(t)))
    if not texts:
        return {}, []
    if not fob_takes:
        return {}, [
            "this fob's firmware draws only ASCII labels, so %s shows as code "
            "points; `otpfob deploy` updates it" % ", ".join(repr(t) for t in texts)
        ]
    try:
        _fonts()
    except FontMissing as exc:
        return {}, [
            "%s; the fob shows %s as code points" % (exc, ", ".join(repr(t) for t in texts))
        ]
    warnings = []
    for issuer, name in pairs:
        warnings.extend(w for w in problems(issuer, name) if w not in warnings)
    clash = distinct(texts, [t for t in existing if t and t not in texts])
    strips = {}
    for t in texts:
        if t in clash:
            warnings.append(
                "%r would draw the same pixels as %r on the fob: it goes without "
                "a strip, so the fob shows its code points" % (t, clash[t])
            )
        elif render(t).data is not None:
            strips[t] = render(t).data
    return strips, warnings


def preview_text(issuer, name, strips=None):
    """Terminal lines (half blocks) of a label as the fob draws it with `strips` ({text:
    bytes}; None: as rendered here)."""
    from .sim.terminal import half_blocks

    if strips is None:
        rows = preview(issuer, name)
    else:
        rows = fob_row(issuer, name, (strips.get(issuer), strips.get(name)))
    return half_blocks(rows)


def one_call(text, direction=None, upper=False):
    """`text` drawn by Pillow in one raqm call in Unifont, as the fob keeps a strip (no
    column lit top to bottom): the reference the tests hold the strips and the fob's
    pixels to."""
    from PIL import Image, ImageDraw

    font = _fonts()[1 if upper else 0]
    w = int(font.getlength(text, direction=direction))
    img = Image.new("1", (max(w, 1), HEIGHT), 0)
    d = ImageDraw.Draw(img)
    d.fontmode = "1"
    d.text((0, BASELINE), text, font=font, fill=1, anchor="ls", direction=direction)
    rows = [[1 if img.getpixel((x, y)) else 0 for x in range(w)] for y in range(HEIGHT)]
    for x in range(w):
        if all(r[x] for r in rows):
            rows[0][x] = 0
    return rows
