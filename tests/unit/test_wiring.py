"""Wiring pages generated from the board files: committed copies current, pictures right."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from otpfob import wiring

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "boards"
SVG = "{http://www.w3.org/2000/svg}"
BOARDS = wiring.hardware_boards()


def test_committed_pages_are_identical_to_a_fresh_generation(tmp_path):
    written = wiring.write_all(tmp_path)
    assert sorted(written) == sorted(p.name for p in tmp_path.iterdir())
    for name in written:
        assert (DOCS / name).read_bytes() == (tmp_path / name).read_bytes(), (
            "docs/boards/%s is out of date: run python -m otpfob.wiring docs/boards" % name
        )


def test_every_hardware_board_has_a_page_and_the_simulator_none():
    assert "sim" not in BOARDS and BOARDS
    expected = {b + ext for b in BOARDS for ext in (".md", ".svg")}
    assert set(wiring.render_all()) == expected


def _texts_by_y(root):
    """Label text by the y of the pin it labels (labels sit 4 px below the pin)."""
    out = {}
    for t in root.iter(SVG + "text"):
        out.setdefault(int(t.get("y")) - 4, []).append(t.text)
    return out


@pytest.mark.parametrize("board_id", BOARDS)
def test_svg_is_well_formed_and_names_every_pin_the_board_uses(board_id):
    root = ET.fromstring(wiring.render(board_id)[board_id + ".svg"].encode())
    assert root.tag == SVG + "svg"
    text = " ".join(t.text for t in root.iter(SVG + "text"))
    cfg = wiring.load_board(REPO / "boards" / (board_id + ".py"))
    for pin in [cfg["I2C_SDA"], cfg["I2C_SCL"]] + [p for _, p in cfg["BUTTONS"]]:
        assert pin in text, pin
    for name, _ in cfg["BUTTONS"]:
        assert "Button %s" % name in text
    assert "0x%02X" % cfg["RTC_ADDRESS"] in text
    assert "%dx%d" % (cfg["DISPLAY_WIDTH"], cfg["DISPLAY_HEIGHT"]) in text


@pytest.mark.parametrize("board_id", BOARDS)
def test_each_drawn_wire_runs_from_its_board_pin_to_the_right_part_pins(board_id):
    cfg = wiring.load_board(REPO / "boards" / (board_id + ".py"))
    root = ET.fromstring(wiring.render(board_id)[board_id + ".svg"].encode())
    labels = _texts_by_y(root)
    # Part pins are labelled on their own rows; find which part box each row is in.
    boxes = []
    for g in root.iter(SVG + "rect"):
        if g.get("fill") == "#eef2f8":
            y0, h = int(g.get("y")), int(g.get("height"))
            title = next(t.text for t in root.iter(SVG + "text") if int(t.get("y")) == y0 + 20)
            boxes.append((y0, y0 + h, title))

    def part_at(y):
        return next(title for a, b, title in boxes if a <= y <= b)

    wires = {}
    for g in root.iter(SVG + "g"):
        lines = [
            [tuple(map(int, p.split(","))) for p in pl.get("points").split()]
            for pl in g.iter(SVG + "polyline")
        ]
        start_y = lines[0][0][1]
        ends = sorted((part_at(seg[1][1]), labels[seg[1][1]][0]) for seg in lines[2:])
        wires.setdefault(g.get("class"), []).append((labels[start_y][0], ends))

    sda, scl = cfg["I2C_SDA"], cfg["I2C_SCL"]
    ((start, ends),) = wires["net-SDA"]
    assert start.startswith(sda + "  ")
    assert [(p.split()[0], pin) for p, pin in ends] == [("DS3231", "SDA"), ("SSD1306", "SDA")]
    ((start, ends),) = wires["net-SCL"]
    assert start.startswith(scl + "  ")
    assert [(p.split()[0], pin) for p, pin in ends] == [("DS3231", "SCL"), ("SSD1306", "SCL")]
    ((start, ends),) = wires["net-3V3"]
    assert [(p.split()[0], pin) for p, pin in ends] == [("DS3231", "VCC"), ("SSD1306", "VCC")]
    for name, pin in cfg["BUTTONS"]:
        ((start, ends),) = wires["net-" + name]
        assert start.startswith(pin + "  ")
        assert ends == [(("Button %s" % name) + ends[0][0][len("Button X") :], "leg 1 (to pin)")]
    grounded = [
        (p.split()[0] + " " + p.split()[1].rstrip(","), pin)
        for _, ends in wires["net-GND"]
        for p, pin in ends
    ]
    assert ("DS3231 RTC", "GND") in grounded and (
        "SSD1306 %dx%d" % (cfg["DISPLAY_WIDTH"], cfg["DISPLAY_HEIGHT"]),
        "GND",
    ) in grounded
    for name, _ in cfg["BUTTONS"]:
        assert ("Button " + name, "leg 2 (to GND)") in grounded


def test_pico_pins_are_placed_as_on_its_pinout():
    pins = wiring.PHYSICAL["raspberry_pi_pico"]["pins"]
    assert pins["GP4"] == "pin 6" and pins["GP5"] == "pin 7"
    assert (pins["GP13"], pins["GP14"], pins["GP15"]) == ("pin 17", "pin 19", "pin 20")
    assert pins["GP0"] == "pin 1" and pins["GP28"] == "pin 34"
    # Ground and supply pins are not GPIOs: no GPIO may claim their numbers.
    taken = {int(v.split()[1]) for v in pins.values()}
    assert not taken & {3, 8, 13, 18, 23, 28, 33, 36, 38}
    page = wiring.render("raspberry_pi_pico")["raspberry_pi_pico.md"]
    assert "| GP4 (I2C SDA) | pin 6 | DS3231 SDA, SSD1306 SDA | blue |" in page
    assert "| 3V3(OUT) | pin 36 |" in page


def _boards_copy(tmp_path):
    d = tmp_path / "boards"
    shutil.copytree(REPO / "boards", d)
    return d


def test_pages_follow_a_change_in_the_board_file(tmp_path):
    boards = _boards_copy(tmp_path)
    f = boards / "raspberry_pi_pico.py"
    text = f.read_text()
    text = (
        text.replace('I2C_SCL = "GP5"', 'I2C_SCL = "GP1"')
        .replace('I2C_SDA = "GP4"', 'I2C_SDA = "GP0"')
        .replace("DISPLAY_HEIGHT = 64", "DISPLAY_HEIGHT = 32")
    )
    text = text.replace(
        'BUTTONS = (("A", "GP15"), ("B", "GP14"), ("C", "GP13"))', 'BUTTONS = (("A", "GP22"),)'
    )
    f.write_text(text)
    out = wiring.render("raspberry_pi_pico", boards)
    page = out["raspberry_pi_pico.md"]
    assert "| GP0 (I2C SDA) | pin 1 |" in page and "| GP1 (I2C SCL) | pin 2 |" in page
    assert "| GP22 (button A, next / confirm) | pin 29 |" in page
    assert "GP15" not in page and "button B" not in page
    assert "| 1 | tactile push button, 6 x 6 mm | A |" in page
    assert "128 x 32" in page
    svg = out["raspberry_pi_pico.svg"]
    ET.fromstring(svg.encode())
    assert "Button B" not in svg and "GP22" in svg


def test_pin_missing_from_the_pin_map_is_a_clear_error(tmp_path):
    boards = _boards_copy(tmp_path)
    f = boards / "raspberry_pi_pico.py"
    f.write_text(f.read_text().replace('("C", "GP13")', '("C", "GP23")'))
    with pytest.raises(wiring.WiringError, match="GP23"):
        wiring.render("raspberry_pi_pico", boards)


def test_board_without_a_pin_map_is_a_clear_error(tmp_path):
    boards = _boards_copy(tmp_path)
    shutil.copy(boards / "raspberry_pi_pico.py", boards / "raspberry_pi_pico_w.py")
    with pytest.raises(wiring.WiringError, match="raspberry_pi_pico_w"):
        wiring.render_all(boards)


def test_check_mode_fails_on_stale_pages_and_passes_after_writing(tmp_path, capsys):
    assert wiring.main(["--check", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert wiring.main([str(tmp_path)]) == 0
    assert wiring.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "raspberry_pi_pico.md").write_text("edited by hand\n")
    assert wiring.main(["--check", str(tmp_path)]) == 1


def test_module_entry_point_writes_the_pages(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "otpfob.wiring", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "raspberry_pi_pico.svg").is_file()
    assert "wrote" in res.stdout


def test_the_pages_board_is_the_simulators_less_sleep_and_battery(monkeypatch):
    # web/fob/fob_board.py takes boards/sim.py (served beside it as sim_board.py) and
    # drops what a page cannot do; the page's files include it.
    import importlib.util
    import sys
    from pathlib import Path

    from otpfob import web

    repo = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("sim_board", repo / "boards" / "sim.py")
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    monkeypatch.setitem(sys.modules, "sim_board", sim)
    spec = importlib.util.spec_from_file_location("page_board", repo / "web/fob/fob_board.py")
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    for key in ("I2C_SCL", "I2C_SDA", "DISPLAY_WIDTH", "DISPLAY_HEIGHT", "BUTTONS", "RTC_ADDRESS"):
        assert getattr(page, key) == getattr(sim, key), key
    for key in ("SLEEP_MODES", "BATTERY_PIN", "BATTERY_DIVIDER"):
        assert hasattr(sim, key) and not hasattr(page, key), key
    assert page.STATE_DIR == "/state" and page.NAME != sim.NAME
    assert web.fob_files()["sim_board.py"] == repo / "boards" / "sim.py"
