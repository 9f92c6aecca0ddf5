"""The host's label strips (otpfob/labels.py): every script drawn with Pillow's raqm
layout in GNU Unifont, characters that would let one text pass for another drawn as code
points, the parts of an import that carry them within the line limit, and no two
different labels drawn alike by the fob's own drawing code."""

import base64
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob import client as wire
from otpfob import labels
from otpfob.otpauth import Account

try:
    labels._fonts()
except labels.FontMissing as exc:  # make setup installs fonts-unifont and libfribidi0
    pytest.skip(str(exc), allow_module_level=True)

SCRIPTS = {
    "latin": "Sparkasse München",
    "greek": "Ελλάδα",
    "cyrillic": "Банк",
    "hebrew": "שלום",
    "arabic": "مرحبا",
    "chinese": "银行",
    "japanese": "東京タワー",
    "korean": "서울",
    "thai": "ธนาคาร",
    "devanagari": "हिन्दी",
    "symbols": "— “A” … € © ™",
    "emoji": "😀🔑",
}


def pixels(text, direction=None, upper=False):
    """The reference: the text drawn by Pillow in one raqm call in Unifont."""
    return labels.one_call(text, direction, upper)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_script_becomes_a_strip_the_same_as_the_font_draws_it(script):
    text = SCRIPTS[script]
    s = labels.render(text)
    assert s.data is not None and s.marked == [] and s.missing == [], (s.marked, s.problem)
    ref = pixels(text, "rtl" if script in ("hebrew", "arabic") else None, upper=script == "emoji")
    assert s.rows == ref
    assert any(s.data[: s.width])  # the upper page is lit, as the fob requires


def test_plain_ascii_gets_no_strip():
    assert labels.render("GitHub").data is None
    assert labels.plan([("GitHub", "octocat")]) == ({}, [])


def test_arabic_letters_join_and_run_right_to_left():
    joined = labels.render("بنك")
    assert joined.rows == pixels("بنك", "rtl")
    # The letters alone, right to left (beh at the right end): not what was drawn, as
    # the joined forms differ from the isolated ones.
    alone = [labels.render(c).rows for c in reversed("بنك")]
    apart = [sum((r[y] for r in alone), []) for y in range(16)]
    assert len(apart[0]) == joined.width and joined.rows != apart


@pytest.mark.parametrize(
    "a,b,marked",
    [
        ("Bаnk é", "Bank é", "\u0430"),  # Cyrillic a in a Latin word
        ("alice\u0301", "alicé", "\u0301"),  # decomposed against precomposed
        ("Ба\u200bнк", "Банк", "\u200b"),  # an invisible character
        ("Банк\u00a0X", "Банк X", "\u00a0"),  # a no-break space
        ("❤\ufe0f", "❤", "\ufe0f"),  # a variation selector
        ("Банк ", "Банк", " "),  # a space at the end
    ],
)
def test_what_would_pass_for_another_text_is_drawn_as_its_code_point(a, b, marked):
    sa, sb = labels.render(a), labels.render(b)
    assert marked in sa.marked
    assert sa.data != sb.data


def test_a_text_of_one_script_is_drawn_as_itself():
    assert labels.render("Банк").marked == []
    assert labels.render("Ελλάδα").marked == []


def test_a_character_the_font_lacks_is_named_to_the_admin():
    s = labels.render("Bank \U000e0061x")  # a tag character: invisible
    assert s.marked
    s = labels.render("x\U0010fffd")  # private use, not in the font
    assert "\U0010fffd" in s.missing
    warnings = labels.problems("", "x\U0010fffd")
    assert any("U+10FFFD" in w and "not in the fob's font" in w for w in warnings)


def test_two_texts_drawn_alike_on_one_fob_go_without_a_strip():
    # Whole-script twins: a Latin and a Cyrillic text drawn with the same glyphs.
    latin, cyrillic = "cè", "сѐ"
    if labels.render(latin).data != labels.render(cyrillic).data:
        pytest.skip("Unifont draws these two apart")
    strips, warnings = labels.plan([("", cyrillic)], existing=[latin])
    assert cyrillic not in strips and any("same pixels" in w for w in warnings)


def test_a_wide_label_has_no_strip_and_the_admin_is_told():
    s = labels.render("Ж" * 90)
    assert s.data is None and "wide" in s.problem


def account(issuer, name):
    return Account(name, bytes(range(20)), issuer=issuer)


def test_import_parts_carry_the_strips_within_the_line_limit_and_in_order():
    accounts = [account("東京%02d銀行" % i, "たろう%02d太郎" % i) for i in range(60)]
    strips = {}
    for a in accounts:
        for t in (a.issuer, a.name):
            strips[t] = labels.render(t).data
    strips[accounts[5].name] = bytes(range(256)) * 5  # a long one, 1280 bytes
    parts = wire.split_parts(accounts, strips)
    got = {}
    seen = []
    for n, (accs, pieces) in enumerate(parts):
        line = wire.encode(
            {
                "id": 1 << 64,
                "cmd": "add_many",
                "accounts": [wire.account_fields(a) for a in accs],
                "overwrite": False,
                "part": n,
                "stage": True,
                "batch": "0" * 32,
                "strips": pieces,
            }
        )
        assert len(line) + 74 <= 2048
        for p in pieces:
            at = p.get("at", 0)
            assert len(got.get(p["text"], b"")) == at  # each piece follows the last
            got[p["text"]] = got.get(p["text"], b"") + base64.b64decode(p["data"])
        for a in accs:
            assert all(t in got for t in (a.issuer, a.name))  # strip before account
            seen.append(a)
    assert seen == accounts and got == strips
    assert any("at" in p for _, pieces in parts for p in pieces)


def row(issuer, name):
    strips, _ = labels.plan([(issuer, name)])
    return labels.fob_row(issuer, name, (strips.get(issuer), strips.get(name)))


LOOKALIKES = [
    ("", "Bank:alice"),
    ("Bank", ""),
    ("", "Bank"),
    ("Bank ", "alice"),
    ("", "Bank / alice"),
    ("Bank /", "alice"),
    ("Bank", "alice "),
    ("", "alicé"),
    ("", "alicè"),
    ("", "alice\u0301"),
    ("", "аlice"),
    ("", "alice"),
    ("Банк", "Олена"),
    ("Банк", "Олeна"),
    ("Банк:Олена", ""),
    ("", "Банк:Олена"),
    ("银行", "张伟"),
    ("银行:张伟", ""),
    ("", "银行|张伟"),
    ("Bank", "al\u200bice"),
    ("Bank", "al\u00adice"),
    ("", "Bank\u2002alice"),
    ("", "Bank alice"),
    ("Bank", "alice"),
    (" Bank", "alice"),
    ("Bank", "alice  "),
    ("", " "),
    ("", "  "),
    ("", "\u00a0"),
    ("", "ไทย"),
    ("", "ไทย\u200b"),
    ("", "😀"),
    ("", "😀\ufe0f"),
    ("", "שלום"),
    ("", "\u200fשלום"),
    ("", "Ｂank"),
    ("Bank", "ａlice"),
    ("", "e\u0301\u0323"),
    ("", "e\u0323\u0301"),
    ("", "ẹ\u0301"),
]


def test_the_fob_draws_no_two_of_these_lookalike_labels_alike():
    drawn = {}
    for issuer, name in LOOKALIKES:
        rows = json.dumps(row(issuer, name))
        assert rows not in drawn, ((issuer, name), drawn.get(rows))
        drawn[rows] = (issuer, name)


def test_the_bar_between_issuer_and_name_is_drawn_by_no_text():
    # The columns lit top to bottom of a two-page row: only the bar's.
    issuer, name = "Банк█▌│", "┃║"
    rows = row(issuer, name)
    full = [x for x in range(len(rows[0])) if all(r[x] for r in rows)]
    assert len(full) == 1
    one_page = row("Bank", "alice")
    bits = [x for x in range(len(one_page[0])) if one_page[7][x]]
    assert len(bits) == 1  # the bottom row: the bar alone


ALPHABET = "aаеeoоcсpрxх éèê\u0301\u200b бБ银行:|/ ֹ"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(ALPHABET, max_size=4), st.text(ALPHABET, min_size=1, max_size=4)),
        min_size=2,
        max_size=6,
        unique=True,
    )
)
def test_labels_planned_together_never_draw_alike(pairs):
    strips, _ = labels.plan(pairs)
    drawn = {}
    for issuer, name in pairs:
        rows = json.dumps(labels.fob_row(issuer, name, (strips.get(issuer), strips.get(name))))
        assert rows not in drawn, ((issuer, name), drawn.get(rows))
        drawn[rows] = (issuer, name)


def test_every_pair_of_scripts_draws_apart():
    for a, b in itertools.combinations(SCRIPTS.values(), 2):
        assert labels.render(a).data != labels.render(b).data


SECRET = "JBSWY3DPEHPK3PXP"


def test_an_add_whose_strips_do_not_fit_its_line_sends_them_ahead_and_a_rename_its_own(
    cli, socket_fob
):
    from fob import labels as fob_labels

    issuer, name = " ".join(["Ünïcödé"] * 4), "ñ" + "x" * 60
    # Their base64 alone is nearly a whole line.
    assert (len(labels.render(issuer).data) + len(labels.render(name).data)) * 4 // 3 > 1900
    r = cli("add", "--issuer", issuer, name, SECRET)
    assert r.exit_code == 0, r.output + r.stderr
    v = socket_fob.vault
    assert [(a.issuer, a.name) for a in v.accounts] == [(issuer, name)]
    for text in (issuer, name):
        assert bytes(fob_labels.load(v, text)) == labels.render(text).data
    r = cli("rename", "#1", "Олена", "--issuer", "Банк")
    assert r.exit_code == 0, r.output + r.stderr
    assert bytes(fob_labels.load(v, "Олена")) == labels.render("Олена").data
    # The old texts' strips went with them; only the new ones are left.
    files = sorted(p.name for p in (Path(v.root) / "labels").iterdir())
    assert files == sorted(fob_labels.name(t.encode()) for t in ("Банк", "Олена"))


def test_an_import_warns_naming_what_shows_as_a_code_point(cli, socket_fob, tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(
        "otpauth://totp/B%D0%B0nk:alice?secret=" + SECRET + "&issuer=B%D0%B0nk\n", encoding="utf-8"
    )
    r = cli("import", str(src))
    assert r.exit_code == 0, r.output + r.stderr
    assert "U+0430 CYRILLIC SMALL LETTER A" in r.stderr
    assert [a.issuer for a in socket_fob.vault.accounts] == ["Bаnk"]
