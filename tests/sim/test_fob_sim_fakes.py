"""The fake CircuitPython modules as the heap run installs them: only the ones asked for,
and nvm read from the state folder on first use (its 4 KB are not taken before)."""

import pytest

from otpfob.sim import cp
from otpfob.sim.i2c import Bus
from otpfob.sim.world import World


def _hw(tmp_path):
    hw = cp.Hardware(World(epoch=1800000000), Bus(), state_dir=str(tmp_path))
    hw.nvm_path = str(tmp_path / "nvm.bin")
    return hw


def test_modules_returns_only_the_fakes_asked_for(tmp_path):
    mods = cp.modules(_hw(tmp_path), ("board", "time", "usb_cdc"))
    assert sorted(mods) == ["board", "time", "usb_cdc"]
    assert mods["time"].monotonic() >= 0
    assert mods["usb_cdc"].data is None  # boot.py did not enable the data channel


def test_modules_by_default_returns_every_fake(tmp_path):
    assert sorted(cp.modules(_hw(tmp_path))) == sorted(cp.NAMES)


def test_modules_rejects_an_unknown_fake_by_name(tmp_path):
    with pytest.raises(ValueError, match="wifi"):
        cp.modules(_hw(tmp_path), ("board", "wifi"))


def test_nvm_is_read_from_the_state_folder_on_first_use(tmp_path):
    hw = _hw(tmp_path)
    mc = cp.modules(hw, ("microcontroller",))["microcontroller"]
    assert mc.nvm._buf is None and len(mc.nvm) == hw.nvm_size
    # Written after the module was set up, and still what the first read sees.
    (tmp_path / "nvm.bin").write_bytes(b"\x07\x08")
    assert mc.nvm[0] == 7 and bytes(mc.nvm[0:3]) == b"\x07\x08\xff"


def test_nvm_writes_reach_the_state_folder(tmp_path):
    hw = _hw(tmp_path)
    mc = cp.modules(hw, ("microcontroller",))["microcontroller"]
    mc.nvm[1:3] = b"ab"
    mc.nvm[0] = 5
    stored = (tmp_path / "nvm.bin").read_bytes()
    assert len(stored) == hw.nvm_size and stored[:4] == b"\x05ab\xff"
    again = cp.modules(_hw(tmp_path), ("microcontroller",))["microcontroller"]
    assert bytes(again.nvm[0:4]) == b"\x05ab\xff"
    with pytest.raises(ValueError):
        mc.nvm[0:2] = b"x"
