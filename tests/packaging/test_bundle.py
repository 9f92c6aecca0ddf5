"""The CIRCUITPY bundle (otpfob-VERSION-circuitpython.zip) that `make dist` writes.

The simulator runs CPython, which cannot load .mpy files, so the boot test uses the .py
folder; the .mpy folders are checked for their files (the committed ones, or a stand-in
compiler's when those are stale).
"""

import json
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

    def compile(self, source, name, workdir, dest=None):
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
        return {n[len(prefix) :]: z.read(n) for n in z.namelist() if n.startswith(prefix)}


def test_bundle_holds_a_circuitpy_tree_per_board_and_a_readme(tmp_path):
    path = bundle.build_bundle(tmp_path, find_mpy_cross=no_mpy_cross)
    assert path == tmp_path / (TOP + ".zip")
    boards = deploy.known_boards()
    assert boards and "sim" not in boards
    firmware = {
        p.relative_to(REPO / "firmware").as_posix(): p.read_bytes()
        for p in (REPO / "firmware").rglob("*.py")
    }
    for board in boards:
        files = tree(path, "%s/py/%s/" % (TOP, board))
        assert files["fob_board.py"] == (REPO / "boards" / (board + ".py")).read_bytes()
        for rel, data in firmware.items():  # boot.py, code.py and lib/fob/
            assert files[rel] == data, rel
        for lib in (
            "lib/adafruit_ssd1306.py",
            "lib/adafruit_ds3231.py",
            "lib/adafruit_framebuf.py",
            "lib/adafruit_register/i2c_bit.py",
            "lib/adafruit_bus_device/i2c_device.py",
            "lib/adafruit_hid/keyboard.py",
        ):
            assert lib in files, (board, lib)
        assert deploy.MANIFEST in files  # a later `otpfob deploy` knows these files
        assert not [n for n in files if n.endswith(".mpy")]
    readme = tree(path, TOP + "/")["README.txt"].decode()
    for board in boards:
        assert board in readme
    assert "CircuitPython 8.2" in readme and "CIRCUITPY" in readme
    assert "adafruit-circuitpython-ssd1306" in readme
    for major in (8, 9, 10):
        assert "%d.x-mpy" % major in readme
    assert "MIT" in readme and "THIRD_PARTY_NOTICES.md" in readme


def test_bundle_carries_the_licence_and_the_notices_of_the_drivers_it_holds(tmp_path):
    path = bundle.build_bundle(tmp_path, boards=["raspberry_pi_pico"], find_mpy_cross=no_mpy_cross)
    top = tree(path, TOP + "/")
    for rel in ("LICENSE", "THIRD_PARTY_NOTICES.md", "LICENSES/Apache-2.0.txt"):
        assert top[rel] == (REPO / rel).read_bytes(), rel
    notices = top["THIRD_PARTY_NOTICES.md"].decode()
    libs = {
        n.split("/")[1].removesuffix(".py")
        for n in tree(path, "%s/py/raspberry_pi_pico/" % TOP)
        if n.startswith("lib/adafruit")
    }
    assert libs >= {"adafruit_ssd1306", "adafruit_ds3231", "adafruit_register"}
    for lib in libs:  # every driver folder or module in lib/ has its notice
        assert "`%s`" % lib in notices, lib


@pytest.mark.parametrize("major", [8, 9, 10])
def test_bundle_carries_the_committed_mpy_files_for_each_major(tmp_path, major):
    path = bundle.build_bundle(tmp_path, boards=["raspberry_pi_pico"], find_mpy_cross=no_mpy_cross)
    mpy = tree(path, "%s/%d.x-mpy/raspberry_pi_pico/" % (TOP, major))
    committed = REPO / "firmware" / "mpy" / ("cp%d" % major)
    for rel in (
        "lib/fob/otp.mpy",
        "lib/fob/app.mpy",
        "lib/adafruit_ssd1306.mpy",
        "lib/adafruit_register/i2c_bit.mpy",
    ):
        assert mpy[rel] == (committed / rel).read_bytes(), rel
    assert not [n for n in mpy if n.startswith("lib/") and n.endswith(".py")]
    assert not [n for n in mpy if n.startswith("mpy/")]
    for keep in ("boot.py", "code.py", "fob_board.py"):  # CircuitPython runs these as .py
        assert keep in mpy
    manifest = json.loads(mpy[deploy.MANIFEST])
    assert manifest["format"] == "mpy" and "CircuitPython %d." % major in manifest["compiler"]


def test_stale_mpy_files_are_left_out_or_compiled_afresh(tmp_path):
    firmware = tmp_path / "firmware"
    shutil.copytree(REPO / "firmware", firmware, ignore=shutil.ignore_patterns("__pycache__"))
    with open(firmware / "lib" / "fob" / "otp.py", "a") as f:
        f.write("\n# changed without make mpy\n")
    path = bundle.build_bundle(
        tmp_path / "a",
        boards=["raspberry_pi_pico"],
        find_mpy_cross=no_mpy_cross,
        firmware_dir=firmware,
    )
    assert not [n for n in names(path) if "-mpy/" in n]
    readme = tree(path, TOP + "/")["README.txt"].decode()
    assert "lib/fob/otp.py" in readme and "make mpy" in readme
    path = bundle.build_bundle(
        tmp_path / "b", boards=["raspberry_pi_pico"], find_mpy_cross=only_9, firmware_dir=firmware
    )
    mpy = tree(path, "%s/9.x-mpy/raspberry_pi_pico/" % TOP)
    assert mpy["lib/fob/otp.mpy"].startswith(b"C\x06otp.py\x00")
    assert not [n for n in names(path) if "/8.x-mpy/" in n or "/10.x-mpy/" in n]


def test_bundle_is_the_same_for_the_same_sources(tmp_path):
    a = bundle.build_bundle(tmp_path / "a", find_mpy_cross=no_mpy_cross)
    b = bundle.build_bundle(tmp_path / "b", find_mpy_cross=no_mpy_cross)
    assert a.read_bytes() == b.read_bytes()


def test_simulator_boots_from_a_drive_filled_from_the_bundle(tmp_path):
    path = bundle.build_bundle(
        tmp_path / "dist", boards=["raspberry_pi_pico"], find_mpy_cross=no_mpy_cross
    )
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp_path / "unpacked")
    drive = tmp_path / "CIRCUITPY"
    # What a person does: copy the board's folder's contents onto the drive.
    shutil.copytree(tmp_path / "unpacked" / TOP / "py" / "raspberry_pi_pico", drive)
    # The drive's own driver copy must be the one that runs, not the test environment's.
    mark = tmp_path / "ssd1306-from"
    with open(drive / "lib" / "adafruit_ssd1306.py", "a") as f:
        f.write("\nwith open(%r, 'w') as _mark:\n    _mark.write(__file__)\n" % str(mark))
    with SimProcess(
        tmp_path / "state", board=str(drive / "fob_board.py"), firmware=drive, demo=True
    ) as fob:
        st = fob.wait_for(
            lambda s: s.get("screen") == "code" and s.get("code"), what="the demo account's code"
        )
    assert st["firmware"] == "running" and st["error"] is None
    assert len(st["code"].replace(" ", "")) == 6
    assert Path(mark.read_text()).resolve() == (drive / "lib" / "adafruit_ssd1306.py").resolve()


@pytest.mark.parametrize("argv", [[], ["-h"], ["a", "b"]])
def test_bundle_command_line_wants_one_folder(argv, capsys):
    assert bundle.main(argv) == 2
    assert "usage" in capsys.readouterr().err
