"""The fob's settings file (fob/settings.py) and the settings_get / settings_set commands."""

import json
import sys

import pytest

from fob import hidtype, prefs
from fob.protocol import Protocol
from fob.settings import FILE_NAME, Settings
from fob.vault import Vault
from otpfob.sim import cp
from otpfob.sim.i2c import Bus
from otpfob.sim.world import World

T0 = 1800000000


# -- the file ---------------------------------------------------------------------------------


def test_typing_is_off_and_the_layout_us_by_default(tmp_path):
    s = Settings(str(tmp_path))
    assert (s.typing, s.layout, s.privacy, s.idle_timeout) == (False, "us", False, 30)
    assert not (tmp_path / FILE_NAME).exists()  # defaults are not written


def test_typing_and_layout_survive_a_restart(tmp_path):
    s = Settings(str(tmp_path))
    s.typing, s.layout = True, "fr"
    assert s.save()
    text = (tmp_path / FILE_NAME).read_text()
    assert "typing=1\n" in text and "layout=fr\n" in text
    again = Settings(str(tmp_path))
    assert (again.typing, again.layout) == (True, "fr")
    # The older settings are kept alongside.
    assert (again.privacy, again.idle_timeout) == (False, 30)


@pytest.mark.parametrize(
    "line, typing, layout",
    [
        ("typing=yes\nlayout=\n", False, "us"),  # only "1" turns typing on
        ("typing\nlayout\n", False, "us"),
        ("typing=1\nlayout=de\n", True, "de"),
        # Checked where it is used (typing says "Unknown layout"), not in RAM for good.
        ("typing=1\nlayout=dvorak\n", True, "dvorak"),
    ],
)
def test_a_damaged_file_falls_back_to_defaults_value_by_value(tmp_path, line, typing, layout):
    (tmp_path / FILE_NAME).write_text(line)
    s = Settings(str(tmp_path))
    assert (s.typing, s.layout) == (typing, layout)


def test_the_host_is_offered_exactly_the_layouts_the_fob_can_type():
    assert set(prefs._LAYOUTS) == set(hidtype._MOVED)


# -- the commands -----------------------------------------------------------------------------

# The protocol tests' port: bytes in, bytes out.
from fakes import FakeClock, final_reply  # noqa: E402
from fakes import FakePort as Port  # noqa: E402
from fakes import FakePresence as Presence  # noqa: E402


class Fob:
    """The protocol over a vault and settings in a folder, as a board keeps them."""

    def __init__(self, root, shared=True, reply=True):
        self.root = str(root)
        self.port = Port()
        self.vault = Vault(self.root)
        self.vault.load()
        self.presence = Presence(reply)
        self.proto = Protocol(self.port, self.vault, FakeClock(), {}, presence=self.presence)
        # The UI's Settings object, which the protocol must change in place (a new one
        # would leave the screen on the old values until a restart).
        self.settings = Settings(self.root)
        if shared:
            self.proto.settings = self.settings

    def call(self, cmd, **args):
        req = {"id": 1, "cmd": cmd}
        req.update(args)
        return final_reply(self.proto, self.port, json.dumps(req).encode())


def ok(reply):
    assert reply["ok"] is True, reply
    return reply


def err(reply, code):
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == code, reply
    return reply["error"]["message"]


@pytest.fixture
def fob(tmp_path):
    return Fob(tmp_path)


def test_hello_lists_the_settings_commands(fob):
    caps = ok(fob.call("hello"))["capabilities"]
    assert "settings_get" in caps and "settings_set" in caps


def test_settings_get_reports_every_setting(fob):
    r = ok(fob.call("settings_get"))
    assert (r["privacy"], r["idle_timeout"], r["typing"], r["layout"]) == (False, 30, False, "us")
    assert r["layouts"] == ["us", "de", "fr"]
    assert r["saved"] is True


def test_settings_set_changes_the_live_settings_and_the_file(fob, tmp_path):
    r = ok(fob.call("settings_set", typing=True, layout="de", idle_timeout=60, privacy=True))
    assert sorted(r["changed"]) == ["idle_timeout", "layout", "privacy", "typing"]
    assert (r["typing"], r["layout"], r["idle_timeout"], r["privacy"]) == (True, "de", 60, True)
    # The object the screen reads, at once...
    s = fob.settings
    assert (s.typing, s.layout, s.idle_timeout, s.privacy) == (True, "de", 60, True)
    # ...and the file, after a restart.
    again = Settings(str(tmp_path))
    assert (again.typing, again.layout, again.idle_timeout, again.privacy) == (True, "de", 60, True)
    # Typing on was asked for on the fob (it weakens a check); off and the rest were not.
    assert fob.presence.prompts == ["Set typing on?"]
    r = ok(fob.call("settings_set", typing=False))
    assert r["changed"] == ["typing"] and r["layout"] == "de"
    assert len(fob.presence.prompts) == 1


@pytest.mark.parametrize(
    "first, args, prompt",
    [
        ({}, {"typing": True}, "Set typing on?"),
        ({"privacy": True}, {"privacy": False}, "Set privacy off?"),
        (
            {"privacy": True},
            {"privacy": False, "typing": True, "layout": "fr"},
            "Set privacy off, typing on?",
        ),
    ],
)
def test_a_setting_that_weakens_a_check_waits_for_a_press(tmp_path, first, args, prompt):
    fob = Fob(tmp_path, reply=False)
    fob.settings.privacy = first.get("privacy", False)
    was = (fob.settings.privacy, fob.settings.typing, fob.settings.layout)
    err(fob.call("settings_set", **args), "refused")
    assert fob.presence.prompts == [prompt]
    assert (fob.settings.privacy, fob.settings.typing, fob.settings.layout) == was
    assert not (tmp_path / FILE_NAME).exists()


def test_stricter_settings_need_no_press(fob):
    ok(fob.call("settings_set", privacy=True, idle_timeout=15, layout="fr"))
    assert fob.presence.prompts == []


@pytest.mark.parametrize(
    "args, words",
    [
        ({"typing": "on"}, "typing must be true or false"),
        ({"privacy": 1}, "privacy must be true or false"),
        ({"idle_timeout": 4}, "idle_timeout must be 5 to 3600"),
        ({"idle_timeout": 3601}, "idle_timeout must be 5 to 3600"),
        ({"idle_timeout": "60"}, "idle_timeout must be an integer"),
        ({"layout": "dvorak"}, "layout must be one of us, de, fr"),
        ({"layout": 1}, "layout must be a string"),
        ({}, "give at least one of privacy, idle_timeout, typing, layout"),
        # One bad value spoils the whole request: the good one is not applied either.
        ({"typing": True, "layout": "xx"}, "layout must be one of"),
    ],
)
def test_bad_values_are_refused_by_name_and_change_nothing(fob, tmp_path, args, words):
    message = err(fob.call("settings_set", **args), "bad_argument")
    assert words in message
    assert (fob.settings.typing, fob.settings.layout) == (False, "us")
    assert not (tmp_path / FILE_NAME).exists()


def test_turning_add_presence_off_needs_a_logged_in_admin(fob):
    message = err(fob.call("settings_set", add_presence=False), "auth_required")
    assert "logged in with the fob's password" in message


def test_without_the_ui_the_fob_uses_its_settings_file(tmp_path):
    s = Settings(str(tmp_path))
    s.layout = "fr"
    s.save()
    fob = Fob(tmp_path, shared=False)
    assert ok(fob.call("settings_get"))["layout"] == "fr"
    ok(fob.call("settings_set", typing=True))
    assert Settings(str(tmp_path)).typing is True


def test_settings_get_tells_whether_the_usb_keyboard_is_up(fob, tmp_path, monkeypatch):
    hw = cp.Hardware(World(epoch=T0), Bus(), state_dir=str(tmp_path))
    usb_hid = cp.modules(hw, ("usb_hid",))["usb_hid"]
    monkeypatch.setitem(sys.modules, "usb_hid", usb_hid)
    assert ok(fob.call("settings_get"))["keyboard"] is True  # CircuitPython's default
    hw.in_boot = True
    usb_hid.disable()  # boot.py with typing off
    assert ok(fob.call("settings_get"))["keyboard"] is False
    monkeypatch.delitem(sys.modules, "usb_hid")
    assert ok(fob.call("settings_get"))["keyboard"] is None  # no usb_hid at all
