"""The firmware's glyph tables: complete, in the page layout, and unambiguous."""

from fob import font

STEAM = "23456789BCDFGHJKMNPQRTVWXY"


def big_bitmap(ch):
    o = font.big_offset(ch)
    g = font.BIG[o : o + font.BIG_W * font.BIG_PAGES]
    return [
        [(g[(y // 8) * font.BIG_W + x] >> (y % 8)) & 1 for x in range(font.BIG_W)]
        for y in range(8 * font.BIG_PAGES)
    ]


def test_small_font_covers_printable_ascii_in_seven_rows():
    assert len(font.SMALL) == (font.LAST - font.FIRST + 1) * font.SMALL_W
    for c in range(0x20, font.LAST + 1):
        cols = font.SMALL[font.small_offset(c) : font.small_offset(c) + font.SMALL_W]
        assert all(b & 0x80 == 0 for b in cols), chr(c)  # row 7 is the cell's gap
        if chr(c) != " ":
            assert any(cols), chr(c)


def test_small_glyphs_are_distinct_for_letters_and_digits():
    seen = {}
    for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        o = font.small_offset(ord(ch))
        seen.setdefault(bytes(font.SMALL[o : o + 5]), []).append(ch)
    assert all(len(v) == 1 for v in seen.values()), [v for v in seen.values() if len(v) > 1]


def test_unprintable_characters_fall_back_to_question_mark():
    assert font.small_offset(0x7F) == font.small_offset(ord("?"))
    assert font.small_offset(0xE9) == font.small_offset(ord("?"))


def test_big_font_has_digits_and_the_steam_alphabet_all_distinct():
    glyphs = {}
    for ch in "0123456789" + STEAM + "*-":
        assert font.big_offset(ch) >= 0, ch
        glyphs.setdefault(bytes(font.BIG[font.big_offset(ch) : font.big_offset(ch) + 30]), ch)
    assert len(glyphs) == len(set("0123456789" + STEAM + "*-"))
    assert font.big_offset("A") == -1


def test_big_glyphs_leave_top_row_and_bottom_rows_blank_and_have_ink():
    for ch in "0123456789" + STEAM:
        bm = big_bitmap(ch)
        assert not any(bm[0]) and not any(bm[22]) and not any(bm[23]), ch
        assert sum(map(sum, bm)) > 40, ch


def test_big_one_is_a_vertical_stroke_in_the_middle():
    bm = big_bitmap("1")
    middle = [row[4] and row[5] for row in bm[1:22]]
    assert all(middle)


def test_widths():
    assert font.text_width("") == 0
    assert font.text_width("abc") == 17
    assert font.big_width("123 456") == 6 * 12 - 2 + 6
    assert font.big_width("1234 5678") == 8 * 12 - 2 + 6
    assert font.big_width("BCDFG") == 5 * 12 - 2


def test_the_label_marks_light_the_bottom_row_no_glyph_lights():
    # The bar between issuer and name: one column lit top to bottom; a space at either
    # end of a field: a line on the bottom row (fob/ui.py drawn()).
    def cols(c):
        return font.SMALL[font.small_offset(c) : font.small_offset(c) + font.SMALL_W]

    assert list(cols(font.SEP)) == [0, 0, 0xFF, 0, 0]
    assert list(cols(font.EDGE)) == [0x80] * 5
    assert font.cells(font.SEP) == font.cells(font.EDGE) == 1
    assert font.plain("Bank alice") and not font.plain("Bank\x1falice")
    assert font.edges(" a  b ") == "\x1ea  b\x1e" and font.edges("  ") == "\x1e\x1e"
