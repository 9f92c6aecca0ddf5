"""Typing a code as a USB keyboard: the host-side report decoder, and fob/hidtype.py with
the real adafruit_hid on the simulator's fake usb_hid and supervisor."""

import sys
import time

import driver_shims  # noqa: E402
import pytest

driver_shims.install()

from fob import hidtype  # noqa: E402
from otpfob import hid  # noqa: E402
from otpfob.sim import cp  # noqa: E402
from otpfob.sim.i2c import Bus  # noqa: E402
from otpfob.sim.world import World  # noqa: E402

STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"


def report(*keys, shift=False):
    return bytes([hid.LEFT_SHIFT if shift else 0, 0, *keys, *([0] * (6 - len(keys)))])


UP = bytes(8)


# -- the decoder ------------------------------------------------------------------------------


def test_decoder_reads_digits_and_enter_as_a_us_host_does():
    # 4 (0x21), 2 (0x1F), 0 (0x27), Enter (0x28), each pressed and released.
    reports = [report(0x21), UP, report(0x1F), UP, report(0x27), UP, report(0x28), UP]
    assert hid.decode(reports) == "420\n"


def test_decoder_applies_shift_from_the_same_report():
    assert hid.decode([report(0x04, shift=True), UP, report(0x04), UP]) == "Aa"
    # Right Shift counts too.
    assert hid.decode([bytes([0x20, 0, 0x05, 0, 0, 0, 0, 0]), UP]) == "B"


def test_decoder_types_a_held_key_once_and_a_repeat_after_release():
    assert hid.decode([report(0x1E), report(0x1E), UP, report(0x1E), UP]) == "11"


def test_decoder_knows_the_layouts_differ():
    # The key a US keyboard labels Y is Z on a German one; the digit row needs Shift on
    # a French one.
    assert hid.decode([report(0x1C, shift=True), UP], "us") == "Y"
    assert hid.decode([report(0x1C, shift=True), UP], "de") == "Z"
    assert hid.decode([report(0x1E), UP], "fr") == "&"
    assert hid.decode([report(0x1E, shift=True), UP], "fr") == "1"


@pytest.mark.parametrize(
    "reports, why",
    [
        ([b"\x00" * 7], "7 bytes"),
        ([report(0x65), UP], "0x65"),
        ([report(0x1E)], "still held"),
    ],
)
def test_decoder_refuses_what_a_keyboard_would_not_send(reports, why):
    with pytest.raises(hid.HidDecodeError, match=why):
        hid.decode(reports)


def test_decoder_refuses_an_unknown_layout():
    with pytest.raises(hid.HidDecodeError, match="unknown layout"):
        hid.decode([], "dvorak")


# -- the fob's key table, checked against the decoder's independent layouts ------------------


def strokes_as_reports(strokes):
    out = []
    for shift, key in strokes:
        out.append(report(key, shift=shift))
        out.append(UP)
    return out


@pytest.mark.parametrize("layout", ["us", "de", "fr"])
@pytest.mark.parametrize("text", ["0123456789", STEAM_ALPHABET, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
def test_fob_keys_read_back_as_the_text_and_enter_in_each_layout(layout, text):
    assert hid.decode(strokes_as_reports(hidtype.keys(text, layout)), layout) == text + "\n"


def test_fob_keys_for_one_layout_are_wrong_in_another():
    # Why the layout setting exists: AZERTY digits typed as for a US host come out as
    # punctuation, and a German Y typed as for a US host comes out as Z.
    us_digits = strokes_as_reports(hidtype.keys("12", "us"))
    assert hid.decode(us_digits, "fr") == "&\u00e9\n"
    assert hid.decode(strokes_as_reports(hidtype.keys("Y", "us")), "de") == "Z\n"


def test_fob_keys_refuse_what_a_code_never_holds():
    with pytest.raises(ValueError):
        hidtype.keys("12a", "us")
    with pytest.raises(ValueError):
        hidtype.keys("12", "dvorak")


# -- hidtype on fake USB ----------------------------------------------------------------------


@pytest.fixture
def usb(tmp_path, monkeypatch):
    """The fake supervisor and usb_hid installed as the fob's modules; restores after."""
    hw = cp.Hardware(World(epoch=1800000000), Bus(), state_dir=str(tmp_path))
    mods = cp.modules(hw, ("supervisor", "usb_hid"))
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    for name in [n for n in sys.modules if n == "adafruit_hid" or n.startswith("adafruit_hid.")]:
        monkeypatch.delitem(sys.modules, name)
    keyboard = mods["usb_hid"].Device.KEYBOARD
    monkeypatch.setattr(keyboard, "reports", [])
    hw.mods = mods
    hw.keyboard = keyboard
    return hw


def test_type_code_sends_the_code_and_enter(usb):
    assert hidtype.type_code("123456", "us") == hidtype.NOTE_TYPED
    assert hid.decode(usb.keyboard.reports) == "123456\n"
    # The simulator's log (what tests outside its process read) holds the same reports.
    assert hid.read_log(usb.state_dir) == usb.keyboard.reports


def test_type_code_in_a_french_layout_reads_back_as_digits_on_a_french_host(usb):
    assert hidtype.type_code("907", "fr") == hidtype.NOTE_TYPED
    assert hid.decode(usb.keyboard.reports, "fr") == "907\n"


def test_type_code_unloads_itself_and_adafruit_hid(usb):
    import fob
    from fob import hidtype as again

    assert again.type_code("1", "us") == hidtype.NOTE_TYPED
    for name in ("fob.hidtype", "adafruit_hid", "adafruit_hid.keyboard", "adafruit_hid.keycode"):
        assert name not in sys.modules
    assert not hasattr(fob, "hidtype")


def test_without_a_usb_host_type_code_gives_up_at_once(usb, monkeypatch):
    runtime = usb.mods["supervisor"].runtime
    monkeypatch.setattr(type(runtime), "usb_connected", property(lambda self: False))
    t0 = time.monotonic()
    assert hidtype.type_code("123456", "us") == hidtype.NOTE_NO_HOST
    # adafruit_hid's Keyboard would wait for a host forever: this must not even start to.
    assert time.monotonic() - t0 < 0.5
    assert usb.keyboard.reports == []


def test_a_host_gone_after_the_check_ends_in_a_note_within_a_second_or_so(usb, monkeypatch):
    runtime = usb.mods["supervisor"].runtime
    answers = iter((True,))  # connected at the fob's own check, gone for adafruit_hid's
    monkeypatch.setattr(type(runtime), "usb_connected", property(lambda self: next(answers, False)))
    t0 = time.monotonic()
    assert hidtype.type_code("123456", "us") == hidtype.NOTE_BUSY
    assert time.monotonic() - t0 < 3
    assert usb.keyboard.reports == []


def test_keyboard_not_enabled_at_boot_says_so(usb):
    usb.in_boot = True
    usb.mods["usb_hid"].disable()
    usb.in_boot = False
    assert usb.mods["usb_hid"].devices == ()
    assert hidtype.type_code("123456", "us") == hidtype.NOTE_NO_KEYBOARD


def test_a_report_refused_midway_releases_every_key(usb, monkeypatch):
    keyboard = usb.keyboard
    real = type(keyboard).send_report
    sent = []

    def flaky(self, data, report_id=None):
        sent.append(bytes(data))
        if len(sent) == 3:
            raise OSError("USB busy")
        real(self, data, report_id)

    monkeypatch.setattr(type(keyboard), "send_report", flaky)
    assert hidtype.type_code("123456", "us") == hidtype.NOTE_BUSY
    # The last report the host got releases everything: no key stays held on the host.
    assert keyboard.reports[-1] == UP
    assert hid.decode(keyboard.reports) == "1"


def test_fake_usb_hid_checks_report_length_and_boot_only_enable(usb):
    usb_hid = usb.mods["usb_hid"]
    with pytest.raises(ValueError):
        usb.keyboard.send_report(b"\x00" * 7)
    with pytest.raises(RuntimeError):
        usb_hid.enable((usb_hid.Device.KEYBOARD,))
    usb.in_boot = True
    usb_hid.enable((usb_hid.Device.KEYBOARD,))
    assert usb_hid.devices == (usb_hid.Device.KEYBOARD,)


def test_an_unknown_layout_from_a_hand_edited_settings_file_is_named(usb):
    assert hidtype.type_code("123456", "dvorak") == hidtype.NOTE_LAYOUT
    assert usb.keyboard.reports == []
