"""Labels in every script on the simulated fob: `otpfob import` as an admin runs it (the
strips rendered on this computer, sent in the import's parts), then the OLED's own pixels
held to a reference: the same text drawn by Pillow in one raqm call in the same font
(GNU Unifont). On a 128x64 and a 128x32 panel, in the list, and after a rename (an add
whose strips do not fit its line is tests/unit/test_label_render.py's)."""

import urllib.parse

import pytest
from cli_runner import run_otpfob
from PIL import Image

from otpfob import labels

try:
    labels._fonts()
except labels.FontMissing as exc:  # make setup installs fonts-unifont and libfribidi0
    pytest.skip(str(exc), allow_module_level=True)

# (script, name, direction of its one raqm call, in the upper font)
SAMPLES = [
    ("latin", "Zürich Straße", None, False),
    ("greek", "Ελλάδα", None, False),
    ("cyrillic", "Київ Банк", None, False),
    ("hebrew", "שלום", "rtl", False),
    ("arabic", "القاهرة", "rtl", False),
    ("chinese", "银行张伟", None, False),
    ("japanese", "東京タワーたろう", None, False),
    ("korean", "서울민준", None, False),
    ("thai", "ธนาคาร", None, False),
    ("devanagari", "हिन्दी", None, False),
    ("symbols", "— “A” … € © ™", None, False),
    ("emoji", "😀🔑🏦", None, True),
]
EPOCH = 1800000000


def uri(name, issuer=""):
    label = urllib.parse.quote((issuer + ":" if issuer else "") + name)
    extra = "&issuer=" + urllib.parse.quote(issuer) if issuer else ""
    return "otpauth://totp/%s?secret=JBSWY3DPEHPK3PXP%s" % (label, extra)


def panel(fob, path):
    fob.screen_png(path)
    img = Image.open(path).convert("1")
    return [[1 if img.getpixel((x, y)) else 0 for x in range(img.width)] for y in range(img.height)]


def label_area(rows, width):
    return [r[:width] for r in rows[:16]]


def imported(sim_factory, tmp_path, board, names):
    fob = sim_factory(board=board)
    fob.clock(EPOCH)
    src = tmp_path / "accounts.txt"
    src.write_text("".join(uri(n) + "\n" for n in names), encoding="utf-8")
    r = run_otpfob(fob.data_url, "import", str(src))
    assert r.returncode == 0, r.stderr
    fob.advance(0.5)
    return fob


@pytest.mark.parametrize("board,height", [("sim", 64), ("adafruit_qtpy_rp2040", 32)])
def test_every_script_on_the_code_screen_is_the_font_drawing_it(
    sim_factory, tmp_path, board, height
):
    fob = imported(sim_factory, tmp_path, board, [s[1] for s in SAMPLES])
    for i, (script, name, direction, upper) in enumerate(SAMPLES):
        fob.wait_for(
            lambda st, i=i: st["screen"] == "code" and st["index"] == i, what="entry %d" % i
        )
        assert fob.status()["label"] == name
        rows = panel(fob, tmp_path / ("%s.png" % script))
        ref = labels.one_call(name, direction, upper)
        # The label row up to where the index and ring leave room (the whole label
        # scrolls past there; its first screenful is compared).
        width = min(
            len(ref[0]), 128 if height == 64 else 128 - 6 * len("%d/%d" % (i + 1, len(SAMPLES))) - 2
        )
        assert label_area(rows, width) == [r[:width] for r in ref], script
        fob.press("A")
        fob.advance(0.3)


def test_the_list_shows_the_same_strips(sim_factory, tmp_path):
    names = [s[1] for s in SAMPLES[:3]]
    fob = imported(sim_factory, tmp_path, "sim", names)
    fob.press("C")
    fob.wait_for(lambda st: st["screen"] == "list", what="the list")
    rows = panel(fob, tmp_path / "list.png")
    for k, name in enumerate(names):
        ref = labels.one_call(name)
        got = [r[2 : 2 + len(ref[0])] for r in rows[16 * k : 16 * k + 16]]
        if k == 0:  # the cursor's row, inverted
            got = [[1 - v for v in r] for r in got]
        assert got == ref, name


def test_a_rename_sends_the_new_strips_and_the_code_screen_shows_them(sim_factory, tmp_path):
    fob = imported(sim_factory, tmp_path, "sim", ["alice"])
    r = run_otpfob(fob.data_url, "rename", "#1", "Олена", "--issuer", "Банк")
    assert r.returncode == 0, r.stderr
    fob.wait_for(lambda st: st["label"] == "Банк:Олена", what="the new label")
    rows = panel(fob, tmp_path / "renamed.png")
    bank = labels.one_call("Банк")
    w = len(bank[0])
    assert label_area(rows, w) == bank
    name = labels.one_call("Олена")
    assert [r[w + 6 : w + 6 + len(name[0])] for r in rows[:16]] == name


def test_a_preview_shows_the_label_and_names_what_cannot_be_drawn(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("otpfob"))
    png = tmp_path / "preview.png"
    r = subprocess.run(
        [exe, "add", "Bаnk:x\U0010fffd", "--preview", "--preview-png", str(png)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "as the fob draws it" in r.stdout and "█" in r.stdout
    assert "U+0430 CYRILLIC SMALL LETTER A" in r.stderr
    assert "U+10FFFD" in r.stderr and "not in the fob's font" in r.stderr
    assert Image.open(png).height >= 16 * 3
