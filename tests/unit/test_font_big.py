"""The big code font is a bytes literal in fob.font; otpfob.fontgen generates it."""

from pathlib import Path

from fob import font
from otpfob import fontgen as font_big

REPO = Path(__file__).resolve().parents[2]


def test_big_literal_matches_the_generator():
    assert font.BIG == font_big.build()


def test_big_literal_is_bytes_with_one_glyph_per_big_char():
    assert isinstance(font.BIG, bytes)
    assert len(font.BIG) == len(font.BIG_CHARS) * font.BIG_W * font.BIG_PAGES


def test_generator_prints_the_source_that_font_py_carries():
    src = (REPO / "firmware" / "lib" / "fob" / "font.py").read_text()
    assert font_big.literal() in src


def test_generated_digit_one_is_the_small_glyph_stretched_two_by_three():
    # The small "1" has its stem in column 2, rows 0-6; stretched, that is columns 4-5,
    # rows 1-21 of the 24-row cell (one row of top margin).
    o = font.big_offset("1")
    g = font.BIG[o : o + font.BIG_W * font.BIG_PAGES]
    lit = {
        (x, y)
        for y in range(24)
        for x in range(font.BIG_W)
        if (g[(y // 8) * font.BIG_W + x] >> (y % 8)) & 1
    }
    assert all((x, y) in lit for x in (4, 5) for y in range(1, 22))
    assert not any((x, y) in lit for x in range(font.BIG_W) for y in (0, 22, 23))
