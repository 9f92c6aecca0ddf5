"""The CIRCUITPY bundle (otpfob-VERSION-circuitpython.zip) that `make dist` writes.

The simulator runs CPython, which cannot load .mpy files, so the boot test uses the .py
folder; the .mpy folders are checked for their files, with a stand-in compiler.
"""

import shutil
import zipfile
from pathlib import Path

import pytest

from otpfob import __version__, bundle, deploy
from otpfob.sim.harness import SimProcess

REPO = Path(__file__).resolve().parents[2]
TOP = "otpfob-%s-circuitpython" % __version__


class StandInMpyCross(deploy.MpyCross):
    """Writes a recognisable .mpy stand-in instead of running a compiler."""

    def compile(self, source, name, workdir):
        return b"C\x06" + name.encode() + b"\x00" + source[:8]


def no_mpy_cross(major):
    return None, "no CircuitPython %d.x mpy-cross on PATH" % major


def only_9(major):
    if major == 9:
        return StandInMpyCross("mpy-cross-cp9", "CircuitPython 9.2.1; mpy v6.3"), None
    return no_mpy_cross(major)


def names(zip_path):
    with zipfile.ZipFile(zip_path) as z:
        return set(z.namelist())


def tree(zip_path, prefix):
    with zipfile.ZipFile(zip_path) as z:
        return {n[len(prefix):]: z.read(n) for n in z.namelist() if n.startswith(prefix)}


def test_bundle_holds_a_circuitpy_tree_per_board_and_a_readme(tmp_path):
    path = bundle.build_bundle(tmp_path, find_mpy_cross=no_mpy_cross)
    assert path == tmp_path / (TOP + ".zip")
    boards = deploy.known_boards()
    assert boards and "sim" not in boards
    firmware = {p.relative_to(REPO / "firmware").as_posix(): p.read_bytes()
                for p in (REPO / "firmware").rglob("*.py")}
    for board in boards:
        files = tree(path, "%s/py/%s/" % (TOP, board))
        assert files["fob_board.py"] == (REPO / "boards" / (board + ".py")).read_bytes()
        for rel, data in firmware.items():  # boot.py, code.py and lib/fob/
            assert files[rel] == data, rel
        for lib in ("lib/adafruit_ssd1306.py", "lib/adafruit_ds3231.py",
                    "lib/adafruit_framebuf.py", "lib/adafruit_register/i2c_bit.py",
                    "lib/adafruit_bus_device/i2c_device.py", "lib/adafruit_hid/keyboard.py"):
            assert lib in files, (board, lib)
        assert deploy.MANIFEST in files  # a later `otpfob deploy` knows these files
        assert not [n for n in files if n.endswith(".mpy")]
    readme = tree(path, TOP + "/")["README.txt"].decode()
    for board in boards:
        assert board in readme
    assert "CircuitPython 8.2" in readme and "CIRCUITPY" in readme
    assert "no CircuitPython 9.x mpy-cross" in readme
    assert "adafruit-circuitpython-ssd1306" in readme
    assert not [n for n in names(path) if "-mpy/" in n]


def test_bundle_compiles_mpy_only_for_majors_with_a_circuitpython_mpy_cross(tmp_path):
    path = bundle.build_bundle(tmp_path, boards=["raspberry_pi_pico"], find_mpy_cross=only_9)
    mpy = tree(path, "%s/9.x-mpy/raspberry_pi_pico/" % TOP)
    assert mpy["lib/fob/otp.mpy"].startswith(b"C\x06otp.py\x00")
    assert "lib/adafruit_ssd1306.mpy" in mpy
    assert not [n for n in mpy if n.startswith("lib/") and n.endswith(".py")]
    for keep in ("boot.py", "code.py", "fob_board.py"):  # CircuitPython runs these as .py
        assert keep in mpy
    assert not [n for n in names(path) if "/8.x-mpy/" in n or "/10.x-mpy/" in n]
    assert "lib/fob/otp.py" in tree(path, "%s/py/raspberry_pi_pico/" % TOP)


def test_bundle_is_the_same_for_the_same_sources(tmp_path):
    a = bundle.build_bundle(tmp_path / "a", find_mpy_cross=no_mpy_cross)
    b = bundle.build_bundle(tmp_path / "b", find_mpy_cross=no_mpy_cross)
    assert a.read_bytes() == b.read_bytes()


def test_simulator_boots_from_a_drive_filled_from_the_bundle(tmp_path):
    path = bundle.build_bundle(tmp_path / "dist", boards=["raspberry_pi_pico"],
                               find_mpy_cross=no_mpy_cross)
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp_path / "unpacked")
    drive = tmp_path / "CIRCUITPY"
    # What a person does: copy the board's folder's contents onto the drive.
    shutil.copytree(tmp_path / "unpacked" / TOP / "py" / "raspberry_pi_pico", drive)
    # The drive's own driver copy must be the one that runs, not the test environment's.
    mark = tmp_path / "ssd1306-from"
    with open(drive / "lib" / "adafruit_ssd1306.py", "a") as f:
        f.write("\nwith open(%r, 'w') as _mark:\n    _mark.write(__file__)\n" % str(mark))
    with SimProcess(tmp_path / "state", board=str(drive / "fob_board.py"), firmware=drive,
                    demo=True) as fob:
        st = fob.wait_for(lambda s: s.get("screen") == "code" and s.get("code"),
                          what="the demo account's code")
    assert st["firmware"] == "running" and st["error"] is None
    assert len(st["code"].replace(" ", "")) == 6
    assert Path(mark.read_text()).resolve() == (drive / "lib" / "adafruit_ssd1306.py").resolve()


@pytest.mark.parametrize("argv", [[], ["-h"], ["a", "b"]])
def test_bundle_command_line_wants_one_folder(argv, capsys):
    assert bundle.main(argv) == 2
    assert "usage" in capsys.readouterr().err
