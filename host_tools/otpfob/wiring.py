"""Wiring tables, pictures and parts lists generated from the board files.

    python -m otpfob.wiring docs/boards            # write <board_id>.md and .svg
    python -m otpfob.wiring --check docs/boards    # exit 1 if they are out of date

Everything a page says about pins comes from ``boards/<board_id>.py`` (which pins the
firmware uses) and from PHYSICAL below (where those pins are on the board), so the
pictures cannot drift from what the firmware drives.
"""

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from otpfob import resources

BOARDS_DIR = resources.boards_dir()
NOT_HARDWARE = ("sim",)

# Where each CircuitPython `board` pin name is on the physical board, from the boards'
# published pinouts and CircuitPython's pin tables.
_PICO_PHYSICAL = {
    "GP0": 1,
    "GP1": 2,
    "GP2": 4,
    "GP3": 5,
    "GP4": 6,
    "GP5": 7,
    "GP6": 9,
    "GP7": 10,
    "GP8": 11,
    "GP9": 12,
    "GP10": 14,
    "GP11": 15,
    "GP12": 16,
    "GP13": 17,
    "GP14": 19,
    "GP15": 20,
    "GP16": 21,
    "GP17": 22,
    "GP18": 24,
    "GP19": 25,
    "GP20": 26,
    "GP21": 27,
    "GP22": 29,
    "GP26": 31,
    "GP27": 32,
    "GP28": 34,
}
_FEATHER_GPIO = {
    "TX": 0,
    "D1": 0,
    "RX": 1,
    "D0": 1,
    "SDA": 2,
    "SCL": 3,
    "D4": 6,
    "D5": 7,
    "D6": 8,
    "D9": 9,
    "D10": 10,
    "D11": 11,
    "D12": 12,
    "D13": 13,
    "SCK": 18,
    "MOSI": 19,
    "MISO": 20,
    "D24": 24,
    "D25": 25,
    "A0": 26,
    "A1": 27,
    "A2": 28,
    "A3": 29,
}
_FEATHER_SHORT = ("SDA", "SCL", "D5", "D6", "D9", "D10", "D11", "D12", "D13")
_QTPY_GPIO = {
    "A0": 29,
    "D0": 29,
    "A1": 28,
    "D1": 28,
    "A2": 27,
    "D2": 27,
    "A3": 26,
    "D3": 26,
    "SDA": 24,
    "D4": 24,
    "SCL": 25,
    "D5": 25,
    "TX": 20,
    "D6": 20,
    "RX": 5,
    "D7": 5,
    "SCK": 6,
    "D8": 6,
    "MISO": 4,
    "D9": 4,
    "MOSI": 3,
    "D10": 3,
}


def _feather_where(name):
    header = "12-pin header" if name in _FEATHER_SHORT else "16-pin header"
    return "%s, GPIO%d" % (header, _FEATHER_GPIO[name])


PHYSICAL = {
    "raspberry_pi_pico": {
        "pins": {n: "pin %d" % p for n, p in _PICO_PHYSICAL.items()},
        "supply": ("3V3(OUT)", "pin 36"),
        "ground": ("GND", "pin 38"),
        # The ground between GP13 (pin 17) and GP14 (pin 19) keeps button wires short.
        "button_ground": ("GND", "pin 18"),
        "notes": (
            "Pins are numbered 1-40 anticlockwise seen from above with the USB socket at "
            "the top: 1 (GP0) to 20 down the left side, 21 to 40 up the right side.",
            "3V3(OUT) (pin 36) is the Pico's own regulator output; do not feed 5 V "
            "(VBUS/VSYS) to the breakouts' VCC, their I2C lines would then pull up to 5 V.",
        ),
        "board_part": "Raspberry Pi Pico (RP2040) with headers",
    },
    "adafruit_feather_rp2040": {
        "pins": {n: _feather_where(n) for n in _FEATHER_GPIO},
        "supply": ("3V", "16-pin header"),
        "ground": ("GND", "16-pin header"),
        "button_ground": ("GND", "16-pin header"),
        "notes": (
            "SDA and SCL also come out on the STEMMA QT connector: STEMMA QT breakouts "
            "can chain on it with one cable per hop (black GND, red 3V, blue SDA, "
            "yellow SCL) instead of the header wires.",
            "The silkscreen labels are the pin names; the GPIO numbers are the RP2040's.",
        ),
        "board_part": "Adafruit Feather RP2040 (product 4884)",
    },
    "adafruit_qtpy_rp2040": {
        "pins": dict(
            {n: "pad %s, GPIO%d" % (n, g) for n, g in _QTPY_GPIO.items()},
            SDA1="STEMMA QT, GPIO22",
            SCL1="STEMMA QT, GPIO23",
        ),
        "supply": ("3V", "STEMMA QT"),
        "ground": ("GND", "STEMMA QT"),
        "button_ground": ("GND", "pad GND"),
        "notes": (
            "SDA1/SCL1 exist only on the STEMMA QT connector (I2C1), so the DS3231 and "
            "the OLED chain on STEMMA QT cables: board to DS3231, DS3231 to OLED. Each "
            "cable carries GND (black), 3V (red), SDA (blue) and SCL (yellow).",
            "The pads SDA/SCL next to A3 are a different bus (I2C0) and stay unused.",
        ),
        "board_part": "Adafruit QT Py RP2040 (product 4900)",
    },
}

BUTTON_ROLES = {"A": "next / confirm", "B": "previous / cancel"}
WIRE_COLOURS = {
    "3V3": ("red", "#d62728"),
    "GND": ("black", "#222222"),
    "SDA": ("blue", "#1f77b4"),
    "SCL": ("yellow", "#d4a400"),
    "A": ("green", "#2ca02c"),
    "B": ("orange", "#ff7f0e"),
    "C": ("purple", "#9467bd"),
}
# Header order of the usual 4-pin breakouts (Adafruit's DS3231 labels VCC as Vin).
DS3231_PINS = ("VCC", "GND", "SDA", "SCL")
SSD1306_PINS = ("GND", "VCC", "SCL", "SDA")


class WiringError(Exception):
    pass


def load_board(path):
    """The board file's settings, read as data (its assignments of literals)."""
    path = Path(path)
    tree = ast.parse(path.read_text(), str(path))
    cfg = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            try:
                cfg[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    for key in (
        "NAME",
        "I2C_SCL",
        "I2C_SDA",
        "I2C_FREQUENCY",
        "DISPLAY_WIDTH",
        "DISPLAY_HEIGHT",
        "DISPLAY_ADDRESS",
        "RTC_ADDRESS",
        "BUTTONS",
    ):
        if key not in cfg:
            raise WiringError("%s has no %s" % (path.name, key))
    return cfg


def hardware_boards(boards_dir=None):
    boards_dir = Path(boards_dir or BOARDS_DIR)
    return sorted(
        p.stem
        for p in boards_dir.glob("*.py")
        if p.stem not in NOT_HARDWARE and not p.stem.startswith("_")
    )


@dataclass
class Connection:
    net: str  # "3V3", "GND", "SDA", "SCL", or a button name
    pin: str  # the board's pin name
    where: str  # where it is on the board
    role: str  # what it is for
    targets: tuple  # (part, part pin) pairs

    @property
    def colour(self):
        return WIRE_COLOURS[self.net if self.net in WIRE_COLOURS else "A"]


def connections(board_id, cfg):
    """Every wire of the board, in the order the table and picture show them."""
    phys = PHYSICAL.get(board_id)
    if phys is None:
        raise WiringError("no physical pin map for board %r in otpfob/wiring.py" % board_id)

    def where(pin):
        try:
            return phys["pins"][pin]
        except KeyError:
            raise WiringError(
                "board %s uses pin %s, which the pin map in otpfob/wiring.py "
                "does not place" % (board_id, pin)
            ) from None

    buttons = cfg["BUTTONS"]
    out = [
        Connection(
            "3V3",
            phys["supply"][0],
            phys["supply"][1],
            "power, 3.3 V",
            (("DS3231", "VCC"), ("SSD1306", "VCC")),
        ),
        Connection(
            "GND",
            phys["ground"][0],
            phys["ground"][1],
            "ground",
            (("DS3231", "GND"), ("SSD1306", "GND"))
            + ((("buttons", "2"),) if phys["button_ground"] == phys["ground"] else ()),
        ),
        Connection(
            "SDA",
            cfg["I2C_SDA"],
            where(cfg["I2C_SDA"]),
            "I2C SDA",
            (("DS3231", "SDA"), ("SSD1306", "SDA")),
        ),
        Connection(
            "SCL",
            cfg["I2C_SCL"],
            where(cfg["I2C_SCL"]),
            "I2C SCL",
            (("DS3231", "SCL"), ("SSD1306", "SCL")),
        ),
    ]
    for name, pin in buttons:
        out.append(
            Connection(name, pin, where(pin), _button_title(name), (("button " + name, "1"),))
        )
    if phys["button_ground"] != phys["ground"]:
        out.append(
            Connection(
                "GND",
                phys["button_ground"][0],
                phys["button_ground"][1],
                "ground for the buttons",
                tuple(("button " + n, "2") for n, _ in buttons),
            )
        )
    return out


def _button_title(name):
    role = BUTTON_ROLES.get(name)
    return "button %s, %s" % (name, role) if role else "button %s" % name


def _target_text(targets):
    legs = [p[len("button ") :] for p, pin in targets if p.startswith("button ") and pin == "2"]
    if targets and len(legs) == len(targets):
        return "second leg of button%s %s" % ("s" if len(legs) > 1 else "", ", ".join(legs))
    parts = []
    for part, pin in targets:
        if part == "buttons":
            parts.append("second leg of every button")
        elif part.startswith("button "):
            parts.append("%s, %s leg" % (part, "first" if pin == "1" else "second"))
        else:
            parts.append("%s %s" % (part, pin))
    return ", ".join(parts)


def _expand_targets(conns, cfg):
    """'buttons' stands for the second leg of each button."""
    for c in conns:
        if ("buttons", "2") in c.targets:
            c.targets = tuple(t for t in c.targets if t[0] != "buttons") + tuple(
                ("button " + n, "2") for n, _ in cfg["BUTTONS"]
            )
    return conns


def markdown(board_id, cfg):
    conns = connections(board_id, cfg)
    phys = PHYSICAL[board_id]
    n_buttons = len(cfg["BUTTONS"])
    lines = [
        "# Wiring: %s (`%s`)" % (cfg["NAME"], board_id),
        "",
        "Generated from `boards/%s.py` by `python -m otpfob.wiring docs/boards`; change the "
        "board file (or the pin map in `otpfob/wiring.py`) and regenerate, do not edit "
        "this page." % board_id,
        "",
        "![Wiring of the %s](%s.svg)" % (cfg["NAME"], board_id),
        "",
        "## Connections",
        "",
        "| Board pin | On the board | Connects to | Wire |",
        "|---|---|---|---|",
    ]
    for c in conns:
        label = c.pin if c.net in ("3V3", "GND") else "%s (%s)" % (c.pin, c.role)
        lines.append(
            "| %s | %s | %s | %s |" % (label, c.where, _target_text(c.targets), c.colour[0])
        )
    lines += [
        "",
        "## Settings from the board file",
        "",
        "- I2C on `board.%s` (SDA) and `board.%s` (SCL) at %d kHz."
        % (cfg["I2C_SDA"], cfg["I2C_SCL"], cfg["I2C_FREQUENCY"] // 1000),
        "- DS3231 real-time clock at I2C address 0x%02X." % cfg["RTC_ADDRESS"],
        "- SSD1306 OLED, %d x %d pixels, at I2C address 0x%02X."
        % (cfg["DISPLAY_WIDTH"], cfg["DISPLAY_HEIGHT"], cfg["DISPLAY_ADDRESS"]),
        "- %d button%s, active low: each closes its pin to GND; the RP2040's internal "
        "pull-ups hold the pin high otherwise, so no resistors are needed."
        % (n_buttons, "" if n_buttons == 1 else "s"),
        "- Hold button %s while plugging the fob in to give the CIRCUITPY drive to the "
        "computer (maintenance: `otpfob deploy`)." % cfg["BUTTONS"][0][0],
        "",
        "## Notes",
        "",
    ]
    for note in phys["notes"]:
        lines.append("- " + note)
    lines += [
        "- The DS3231 and SSD1306 breakouts normally carry their own I2C pull-up "
        "resistors; with bare modules add 4.7 kOhm from SDA and SCL to 3V3.",
        "- A ZS-042 style DS3231 module charges its coin cell: fit an LIR2032 there, or "
        "remove its charging diode before fitting a CR2032.",
        "",
        "## Bill of materials",
        "",
        "| Qty | Part | Notes |",
        "|---|---|---|",
        "| 1 | %s | runs CircuitPython 8.2 or newer |" % phys["board_part"],
        "| 1 | DS3231 RTC breakout, I2C, 3.3 V | address 0x%02X; with its coin cell, it "
        "keeps UTC while the fob is unplugged |" % cfg["RTC_ADDRESS"],
        "| 1 | SSD1306 OLED %d x %d, I2C, 3.3 V | address 0x%02X |"
        % (cfg["DISPLAY_WIDTH"], cfg["DISPLAY_HEIGHT"], cfg["DISPLAY_ADDRESS"]),
        "| %d | tactile push button, 6 x 6 mm | %s |"
        % (n_buttons, ", ".join(n for n, _ in cfg["BUTTONS"])),
        "| 1 | hook-up wire or STEMMA QT cables | red, black, blue, yellow, and one "
        "colour per button |",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- SVG

_ROW = 28
_PIN_ROW = 22
_BOARD_X, _BOARD_W = 20, 250
_PART_X, _PART_W = 560, 180
_WIDTH = 770


def _t(x, y, text, size=13, anchor="start", weight="normal", fill="#111"):
    return (
        '<text x="%d" y="%d" font-size="%d" text-anchor="%s" font-weight="%s" '
        'fill="%s">%s</text>' % (x, y, size, anchor, weight, fill, escape(text))
    )


def svg(board_id, cfg):
    conns = _expand_targets(connections(board_id, cfg), cfg)
    top = 70
    # Board block: one labelled pin per connection on its right edge.
    board_pins = {}
    out_board = []
    board_h = len(conns) * _ROW + 30
    # No text measuring without a font engine: ~7 px per character at 12 px is ample.
    longest = max([len("%s  %s" % (c.pin, c.where)) for c in conns] + [len(cfg["NAME"])])
    board_w = max(_BOARD_W, 30 + 7 * longest)
    out_board.append(
        '<rect x="%d" y="%d" width="%d" height="%d" rx="10" fill="#e8f1e4" '
        'stroke="#3a6b35" stroke-width="2"/>' % (_BOARD_X, top, board_w, board_h)
    )
    out_board.append(_t(_BOARD_X + 12, top + 22, cfg["NAME"], 14, weight="bold"))
    for i, c in enumerate(conns):
        y = top + 45 + i * _ROW
        board_pins[i] = y
        out_board.append(
            _t(_BOARD_X + board_w - 12, y + 4, "%s  %s" % (c.pin, c.where), 12, anchor="end")
        )
        out_board.append('<circle cx="%d" cy="%d" r="4" fill="#3a6b35"/>' % (_BOARD_X + board_w, y))

    # Parts on the right: the two breakouts, then one box per button.
    parts = [
        ("DS3231", "DS3231 RTC @ 0x%02X" % cfg["RTC_ADDRESS"], DS3231_PINS),
        (
            "SSD1306",
            "SSD1306 %dx%d @ 0x%02X"
            % (cfg["DISPLAY_WIDTH"], cfg["DISPLAY_HEIGHT"], cfg["DISPLAY_ADDRESS"]),
            SSD1306_PINS,
        ),
    ]
    for name, _pin in cfg["BUTTONS"]:
        parts.append(("button " + name, "B" + _button_title(name)[1:], ("1", "2")))
    part_pins = {}
    out_parts = []
    y = top
    for key, title, pins in parts:
        h = 34 + len(pins) * _PIN_ROW
        out_parts.append(
            '<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#eef2f8" '
            'stroke="#34495e" stroke-width="2"/>' % (_PART_X, y, _PART_W, h)
        )
        out_parts.append(_t(_PART_X + 10, y + 20, title, 12, weight="bold"))
        for j, pin in enumerate(pins):
            py = y + 40 + j * _PIN_ROW
            part_pins[(key, pin)] = py
            label = (
                pin
                if not key.startswith("button ")
                else ("leg 1 (to pin)" if pin == "1" else "leg 2 (to GND)")
            )
            out_parts.append(_t(_PART_X + 12, py + 4, label, 12))
            out_parts.append('<circle cx="%d" cy="%d" r="4" fill="#34495e"/>' % (_PART_X, py))
        y += h + 16
    height = max(top + board_h, y) + 40

    # Wires: each connection gets its own vertical channel between board and parts.
    out_wires = []
    for i, c in enumerate(conns):
        x0 = _BOARD_X + board_w
        cx = x0 + 30 + i * ((_PART_X - x0 - 60) // max(1, len(conns) - 1))
        colour = c.colour[1]
        y0 = board_pins[i]
        ys = [part_pins[t] for t in c.targets]
        span = [y0] + ys
        attrs = 'fill="none" stroke="%s" stroke-width="3" stroke-linecap="round"' % colour
        out_wires.append('<g id="wire-%d" class="net-%s">' % (i, c.net))
        out_wires.append('<polyline points="%d,%d %d,%d" %s/>' % (x0, y0, cx, y0, attrs))
        out_wires.append(
            '<polyline points="%d,%d %d,%d" %s/>' % (cx, min(span), cx, max(span), attrs)
        )
        for ty in ys:
            out_wires.append('<polyline points="%d,%d %d,%d" %s/>' % (cx, ty, _PART_X, ty, attrs))
        for ty in span:
            # A dot marks a tee; where the channel merely turns a corner there is none.
            if min(span) < ty < max(span):
                out_wires.append('<circle cx="%d" cy="%d" r="4" fill="%s"/>' % (cx, ty, colour))
        out_wires.append("</g>")

    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">'
        % (_WIDTH, height, _WIDTH, height),
        "<title>otpfob wiring: %s</title>" % escape(cfg["NAME"]),
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        _t(20, 30, "otpfob wiring: %s" % cfg["NAME"], 18, weight="bold"),
        _t(
            20,
            52,
            "generated from boards/%s.py; wire colours as in the table" % board_id,
            12,
            fill="#555",
        ),
    ]
    return "\n".join(head + out_board + out_parts + out_wires + ["</svg>", ""])


# --------------------------------------------------------------------------- files


def render(board_id, boards_dir=None):
    """{file name: text} for one board."""
    cfg = load_board(Path(boards_dir or BOARDS_DIR) / (board_id + ".py"))
    return {board_id + ".md": markdown(board_id, cfg), board_id + ".svg": svg(board_id, cfg)}


def render_all(boards_dir=None):
    out = {}
    for board_id in hardware_boards(boards_dir):
        out.update(render(board_id, boards_dir))
    return out


def write_all(out_dir, boards_dir=None):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = render_all(boards_dir)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    return sorted(files)


def stale(out_dir, boards_dir=None):
    """Names of the generated files missing from or different in out_dir."""
    out_dir = Path(out_dir)
    bad = []
    for name, text in render_all(boards_dir).items():
        p = out_dir / name
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            bad.append(name)
    return sorted(bad)


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    if len(args) != 1:
        print("usage: python -m otpfob.wiring [--check] OUTPUT_DIR", file=sys.stderr)
        return 2
    try:
        if check:
            bad = stale(args[0])
            if bad:
                print(
                    "out of date in %s: %s (run python -m otpfob.wiring %s)"
                    % (args[0], ", ".join(bad), args[0]),
                    file=sys.stderr,
                )
                return 1
            print("wiring pages in %s are up to date" % args[0])
            return 0
        for name in write_all(args[0]):
            print("wrote %s" % (Path(args[0]) / name))
    except WiringError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
