"""The simulator's terminal front end fits the window: braille at 80x24, quadrants in a
medium window, 1:1 half blocks in a large one; no line is ever wider than the window."""

import io
import threading
from types import SimpleNamespace

import pytest

from otpfob.sim.terminal import Terminal, braille, half_blocks, quadrants


def fake_sim(width=128, height=64, lit=(), display_on=True):
    rows = [[0] * width for _ in range(height)]
    for x, y in lit:
        rows[y][x] = 1
    display = SimpleNamespace(
        width=width, rows=lambda: [list(r) for r in rows], display_on=display_on
    )
    return SimpleNamespace(
        display=display,
        bus=SimpleNamespace(lock=threading.Lock()),
        world=SimpleNamespace(now=lambda: 1800000000.0),
        firmware_state="running",
        last_error=None,
        buttons=("A", "B"),
    )


def terminal(size, **kw):
    info = [
        "otpfob sim: data /dev/pts/7",
        "otpfob sim: firmware output in /home/someone/a/rather/long/path/to/the/state/"
        "folder/.sim/console.log",
    ]
    return Terminal(fake_sim(**kw), out=io.StringIO(), info_lines=info, size=lambda: size)


def test_braille_packs_2x4_pixels_per_cell_in_unicode_dot_order():
    rows = [[1, 0], [0, 1], [0, 0], [1, 1]]
    # dots 1 (0,0), 5 (1,1), 7 (0,3), 8 (1,3)
    assert braille(rows) == [chr(0x2800 + 0x01 + 0x10 + 0x40 + 0x80)]
    assert braille([[0] * 128 for _ in range(64)]) == [chr(0x2800) * 64] * 16


def test_quadrants_and_half_blocks_cover_their_cells():
    assert quadrants([[1, 0], [0, 1]]) == ["\u259a"]
    assert quadrants([[1, 1], [1, 1]]) == ["\u2588"]
    assert half_blocks([[1, 0], [0, 0]]) == ["\u2580 "]


@pytest.mark.parametrize(
    "size, drawing, body_rows",
    [((80, 24), "braille", 16), ((100, 40), "quadrant", 32), ((140, 45), "1:1", 32)],
)
def test_the_drawing_fits_the_window(size, drawing, body_rows):
    t = terminal(size, lit=[(0, 0), (127, 63)])
    frame = t.frame(size)
    assert t.drawing == drawing
    assert sum(1 for ln in frame if ln.startswith("|")) == body_rows
    assert len(frame) <= size[1]
    assert max(len(ln) for ln in frame) < size[0]
    assert any("q quits" in ln for ln in frame)


@pytest.mark.parametrize(
    "size, drawing, body_rows", [((80, 24), "quadrant", 16), ((80, 17), "braille", 8)]
)
def test_a_128x32_panel_fits_too(size, drawing, body_rows):
    t = terminal(size, height=32)
    frame = t.frame(size)
    assert t.drawing == drawing
    assert sum(1 for ln in frame if ln.startswith("|")) == body_rows


def test_a_tiny_window_is_cut_never_wrapped_and_says_what_size_it_needs():
    t = terminal((40, 10))
    frame = t.frame((40, 10))
    assert len(frame) == 10 and max(len(ln) for ln in frame) <= 39
    # The first line, cut to the window, tells what to do about it.
    assert frame[0].startswith("Window too small: the fob needs 67x")
    assert not any("too small" in ln for ln in t.frame((80, 24)))


def test_a_dark_screen_says_the_fob_sleeps_and_how_to_wake_it():
    asleep = terminal((80, 24), display_on=False)
    text = " ".join(asleep.frame((80, 24)))
    assert "The fob sleeps" in text and "press a (button A) to wake it" in text
    awake = terminal((80, 24))
    assert "sleeps" not in " ".join(awake.frame((80, 24)))


def test_a_resize_redraws_from_a_clean_screen():
    sizes = [(80, 24)]
    t = Terminal(fake_sim(), out=io.StringIO(), size=lambda: sizes[0])
    t.draw()
    t.out = io.StringIO()
    t.draw()
    assert t.out.getvalue() == ""  # nothing changed, nothing written
    sizes[0] = (140, 45)
    t.draw()
    assert t.out.getvalue().startswith("\x1b[2J") and t.drawing == "1:1"


def test_without_a_window_size_the_drawing_is_1_to_1():
    t = Terminal(fake_sim(), out=io.StringIO(), size=lambda: None)
    t.draw()
    assert t.drawing == "1:1"


def test_in_braille_the_line_under_the_screen_says_what_it_shows():
    t = terminal((80, 24))
    t.sim.status = lambda: {"screen": "code", "label": "Банк / олена", "code": "123 456"}
    frame = t.frame((80, 24))
    assert t.drawing == "braille"
    under = frame.index("+" + "-" * 64 + "+", 1) + 1
    assert frame[under] == "On the screen: Банк / олена  123 456"
    t.sim.status = lambda: {"screen": "presence", "label": None, "prompt": "Delete\n#3 Bank?"}
    assert "On the screen: Delete #3 Bank?" in t.frame((80, 24))
    # Where the pixels are drawn large enough to read, no such line.
    big = terminal((140, 45))
    big.sim.status = t.sim.status
    assert not any(ln.startswith("On the screen") for ln in big.frame((140, 45)))
