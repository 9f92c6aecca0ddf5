"""USB HID keyboard reports back to text, as a host with a given layout would read them.

A boot-protocol keyboard report is 8 bytes: a modifier bitmap, a reserved byte and up to
six usage ids of the keys held (HID Usage Tables, Keyboard/Keypad page). A character is
typed when its key appears in a report that did not hold it before; Shift in the same
report gives the shifted character. Each layout is written as the characters printed on
a keyboard's rows, so it is an independent description of what the fob has to send.
"""

from pathlib import Path

LEFT_SHIFT = 0x02  # modifier bits
RIGHT_SHIFT = 0x20
ENTER = 0x28
SPACE = 0x2C
TAB = 0x2B

# Usage ids of the physical keys, row by row (named by their US legends).
_ROW_DIGITS = (0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27)  # 1..0
_ROW_TOP = (0x14, 0x1A, 0x08, 0x15, 0x17, 0x1C, 0x18, 0x0C, 0x12, 0x13)  # q..p
_ROW_HOME = (0x04, 0x16, 0x07, 0x09, 0x0A, 0x0B, 0x0D, 0x0E, 0x0F, 0x33)  # a..;
_ROW_BOTTOM = (0x1D, 0x1B, 0x06, 0x19, 0x05, 0x11, 0x10)  # z..m

# Per layout and row: (unshifted characters, shifted characters).
LAYOUTS = {
    "us": {
        _ROW_DIGITS: ("1234567890", "!@#$%^&*()"),
        _ROW_TOP: ("qwertyuiop", "QWERTYUIOP"),
        _ROW_HOME: ("asdfghjkl;", "ASDFGHJKL:"),
        _ROW_BOTTOM: ("zxcvbnm", "ZXCVBNM"),
    },
    "de": {
        _ROW_DIGITS: ("1234567890", '!"\u00a7$%&/()='),
        _ROW_TOP: ("qwertzuiop", "QWERTZUIOP"),
        _ROW_HOME: ("asdfghjkl\u00f6", "ASDFGHJKL\u00d6"),
        _ROW_BOTTOM: ("yxcvbnm", "YXCVBNM"),
    },
    "fr": {
        _ROW_DIGITS: ("&\u00e9\"'(-\u00e8_\u00e7\u00e0", "1234567890"),
        _ROW_TOP: ("azertyuiop", "AZERTYUIOP"),
        _ROW_HOME: ("qsdfghjklm", "QSDFGHJKLM"),
        _ROW_BOTTOM: ("wxcvbn,", "WXCVBN?"),
    },
}
_COMMON = {ENTER: "\n", SPACE: " ", TAB: "\t"}


class HidDecodeError(ValueError):
    pass


def keymap(layout="us"):
    """{(usage id, shifted): character} for ``layout``."""
    rows = LAYOUTS.get(layout)
    if rows is None:
        raise HidDecodeError("unknown layout %r (known: %s)" % (layout, ", ".join(LAYOUTS)))
    out = {}
    for keys, (plain, shifted) in rows.items():
        for key, a, b in zip(keys, plain, shifted, strict=True):
            out[(key, False)] = a
            out[(key, True)] = b
    for key, ch in _COMMON.items():
        out[(key, False)] = out[(key, True)] = ch
    return out


def decode(reports, layout="us"):
    """The text a host with ``layout`` reads from keyboard ``reports`` (8-byte each)."""
    table = keymap(layout)
    held = set()
    out = []
    for n, report in enumerate(reports):
        report = bytes(report)
        if len(report) != 8:
            raise HidDecodeError("report %d has %d bytes, not 8" % (n, len(report)))
        shift = bool(report[0] & (LEFT_SHIFT | RIGHT_SHIFT))
        keys = [k for k in report[2:] if k]
        for k in keys:
            if k in held:
                continue
            ch = table.get((k, shift))
            if ch is None:
                raise HidDecodeError(
                    "report %d: key 0x%02x%s means nothing in layout %s"
                    % (n, k, " with Shift" if shift else "", layout)
                )
            out.append(ch)
        held = set(keys)
    if held:
        raise HidDecodeError(
            "the reports end with keys still held: %s"
            % ", ".join("0x%02x" % k for k in sorted(held))
        )
    return "".join(out)


def read_log(path):
    """The reports the simulator's fake usb_hid wrote (one hex line each), oldest first."""
    p = Path(path)
    if p.is_dir():
        p = p / ".sim" / "usb_hid.txt"
    if not p.exists():
        return []
    return [bytes.fromhex(line) for line in p.read_text().split() if line]
