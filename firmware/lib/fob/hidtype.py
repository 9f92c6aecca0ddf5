# Types a code and Enter as a USB keyboard (adafruit_hid), for fobs whose owner turned
# typing on. Imported by the UI for one typing and dropped after it, together with
# adafruit_hid, so a fob that never types holds none of this in RAM.
#
# It never blocks waiting for USB: adafruit_hid's Keyboard waits forever for a host by
# default, so the host is checked first and the fob gives up with a short note for the
# screen instead.
import sys

from micropython import const

# HID usage ids (USB HID Usage Tables, Keyboard/Keypad page 0x07) of the keys at the
# positions of a US keyboard.
_KEY_A = const(0x04)        # A..Z follow in order up to 0x1D
_KEY_1 = const(0x1E)        # 1..9 follow in order up to 0x26
_KEY_0 = const(0x27)
_KEY_ENTER = const(0x28)
_LEFT_SHIFT = const(0xE1)
# Keyboard collection of the generic desktop page, as usb_hid.Device.KEYBOARD declares.
_USAGE_PAGE = const(0x01)
_USAGE_KEYBOARD = const(0x06)
# Seconds adafruit_hid may wait for the host: a backstop; the check below comes first.
_WAIT = const(1)

# Letters whose key is elsewhere than on a US keyboard, by layout: the US-position key
# that types them. The layouts' digits share the US keys; on AZERTY they need Shift.
_MOVED = {
    "us": {},
    "de": {"Y": 0x1D, "Z": 0x1C},   # QWERTZ: Y and Z swap
    "fr": {"A": 0x14, "Q": 0x04, "Z": 0x1A, "W": 0x1D, "M": 0x33},  # AZERTY
}
_SHIFTED_DIGITS = ("fr",)

NOTE_TYPED = "Typed"
NOTE_NO_HOST = "No USB host"
NOTE_NO_KEYBOARD = "Keyboard off: replug"
NOTE_BUSY = "USB busy"
NOTE_LAYOUT = "Unknown layout"
NOTE_FAILED = "Typing failed"


def keys(text, layout="us"):
    """(shift, usage id) per character of ``text`` (digits and A-Z), then Enter."""
    moved = _MOVED.get(layout)
    if moved is None:
        raise ValueError("unknown layout")
    out = []
    for ch in text:
        if "0" <= ch <= "9":
            code = _KEY_0 if ch == "0" else _KEY_1 + ord(ch) - ord("1")
            out.append((layout in _SHIFTED_DIGITS, code))
        elif "A" <= ch <= "Z":
            out.append((True, moved.get(ch, _KEY_A + ord(ch) - ord("A"))))
        else:
            raise ValueError("cannot type that character")
    out.append((False, _KEY_ENTER))
    return out


def _keyboard_device(devices):
    for dev in devices:
        if dev.usage_page == _USAGE_PAGE and dev.usage == _USAGE_KEYBOARD:
            return dev
    return None


def type_from(ui):
    """Type the code on fob/ui.py's code screen; on failure the screen says why."""
    note = NOTE_FAILED
    try:
        # The code of this very second (the one drawn may be from the last one).
        code = ui.current_code(ui.clock.now())
        if code is not None:
            note = _type(code, ui.settings.layout)
    finally:
        _unload()
    # Success needs no word: the code is there on the computer's screen.
    if note != NOTE_TYPED:
        ui.notify(note)
    return note


def type_code(text, layout="us"):
    """Type ``text`` and Enter; returns the note for the screen (NOTE_TYPED when done)."""
    try:
        return _type(text, layout)
    finally:
        _unload()


def _type(text, layout):
    if layout not in _MOVED:
        return NOTE_LAYOUT
    try:
        strokes = keys(text, layout)
    except ValueError:
        return NOTE_FAILED
    try:
        import supervisor

        if not supervisor.runtime.usb_connected:
            return NOTE_NO_HOST
        import usb_hid
    except (ImportError, AttributeError):
        return NOTE_NO_HOST
    dev = _keyboard_device(usb_hid.devices)
    if dev is None:
        # boot.py enables the keyboard only when typing was on at plug-in.
        return NOTE_NO_KEYBOARD
    kbd = None
    done = False
    try:
        from adafruit_hid.keyboard import Keyboard

        kbd = Keyboard(dev, timeout=_WAIT)
        for shift, code in strokes:
            if shift:
                kbd.press(_LEFT_SHIFT, code)
            else:
                kbd.press(code)
            kbd.release_all()
        done = True
    except OSError:
        # No host after all (find_device's timeout), or the host stopped taking reports.
        return NOTE_BUSY
    except (ImportError, MemoryError, ValueError):
        return NOTE_FAILED
    finally:
        if kbd is not None and not done:
            try:
                kbd.release_all()  # never leave a key held down on the host
            except Exception:
                pass
    return NOTE_TYPED


def _unload():
    # Forget this module and adafruit_hid, so the collector takes their RAM back.
    for name in ("adafruit_hid.keyboard", "adafruit_hid.keycode", "adafruit_hid",
                 "fob.hidtype"):
        sys.modules.pop(name, None)
    try:
        import fob

        delattr(fob, "hidtype")
    except (AttributeError, ImportError, TypeError):
        pass
