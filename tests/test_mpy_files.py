"""The committed .mpy files (firmware/mpy/) are the firmware and drivers of today.

A firmware change without `make mpy` would deploy the old code to every board: these
tests fail naming each source that no longer matches what its .mpy was built from, and
the command that rebuilds them.
"""

import shutil
from pathlib import Path

import pytest

from otpfob import deploy, mpyfiles

REPO = Path(__file__).resolve().parents[1]


def test_every_committed_mpy_was_built_from_todays_sources():
    problems = mpyfiles.check()
    assert not problems, "\n".join(problems)


def test_every_firmware_module_and_driver_has_an_mpy_for_each_major():
    manifest = mpyfiles.load_manifest()
    dests = {dest for dest, _, _ in mpyfiles.sources()}
    assert "lib/fob/app.py" in dests and "lib/adafruit_ssd1306.py" in dests
    assert "lib/adafruit_register/i2c_struct.py" in dests
    assert not dests & set(deploy.KEEP_SOURCE)  # boot.py, code.py, the board file: source
    assert set(manifest["files"]) == dests
    for major in mpyfiles.MAJORS:
        assert manifest["compilers"][str(major)].startswith("CircuitPython %d." % major)


@pytest.fixture
def firmware_copy(tmp_path):
    fw = tmp_path / "firmware"
    shutil.copytree(REPO / "firmware", fw, ignore=shutil.ignore_patterns("__pycache__"))
    return fw


def test_a_source_changed_without_a_rebuild_is_named_with_the_command(firmware_copy):
    with open(firmware_copy / "lib" / "fob" / "otp.py", "a") as f:
        f.write("\n# a change without make mpy\n")
    problems = mpyfiles.check(firmware_copy)
    assert len(problems) == 1
    assert "lib/fob/otp.py" in problems[0] and "make mpy" in problems[0]
    assert "mpy-cross-cp8" in problems[0]


def test_a_new_module_without_an_mpy_and_an_edited_mpy_are_named(firmware_copy):
    (firmware_copy / "lib" / "fob" / "extra.py").write_text("X = 1\n")
    mpy = firmware_copy / "mpy" / "cp9" / "lib" / "fob" / "version.mpy"
    mpy.write_bytes(mpy.read_bytes() + b"\0")
    problems = "\n".join(mpyfiles.check(firmware_copy))
    assert "lib/fob/extra.py" in problems and "has no .mpy" in problems
    assert "cp9/lib/fob/version.mpy is not the file the manifest records" in problems


def test_an_mpy_whose_source_is_gone_is_named(firmware_copy):
    (firmware_copy / "lib" / "fob" / "update.py").unlink()
    problems = "\n".join(mpyfiles.check(firmware_copy))
    assert "lib/fob/update.py is in" in problems and "no longer deployed" in problems
    assert "cp8/lib/fob/update.mpy has no source any more" in problems


@pytest.mark.parametrize("major", mpyfiles.MAJORS)
def test_the_committed_files_are_what_the_compiler_makes(major, tmp_path):
    """Where the CircuitPython mpy-cross of that major is on PATH (make mpy's), every
    committed .mpy is compared with a fresh compile of its source."""
    mpy, reason = deploy.find_mpy_cross(major)
    if mpy is None:
        pytest.skip(reason)
    committed = REPO / "firmware" / "mpy" / ("cp%d" % major)
    for dest, path, _ in mpyfiles.sources():
        fresh = mpy.compile(path.read_bytes(), Path(dest).name, tmp_path)
        assert fresh == (committed / mpyfiles.mpy_path(dest)).read_bytes(), (
            "%s differs from a fresh compile with %s: run %s"
            % (dest, mpy.version_line, mpyfiles.REBUILD)
        )
