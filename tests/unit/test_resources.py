"""otpfob.resources: the firmware, boards and drivers, in a checkout and in a wheel."""

import importlib.util
import json
from pathlib import Path

from otpfob import resources

REPO = Path(__file__).resolve().parents[2]


def test_a_checkout_uses_its_own_folders_and_the_installed_drivers():
    assert not resources.bundled()
    assert resources.firmware_dir() == REPO / "firmware"
    assert resources.boards_dir() == REPO / "boards"
    assert resources.drivers_dir() is None
    assert resources.driver("adafruit_ssd1306") == Path(
        importlib.util.find_spec("adafruit_ssd1306").origin
    )
    assert resources.driver("adafruit_register").is_dir()
    assert resources.driver("adafruit_no_such_driver") is None
    assert resources.driver_versions() == {}


def test_an_installed_package_uses_its_bundled_copies(tmp_path, monkeypatch):
    bundled = tmp_path / "bundled"
    (bundled / "firmware" / "lib" / "fob").mkdir(parents=True)
    (bundled / "firmware" / "code.py").write_text("import fob_board\n")
    (bundled / "boards").mkdir()
    drivers = bundled / "drivers"
    (drivers / "adafruit_register").mkdir(parents=True)
    (drivers / "adafruit_ssd1306.py").write_text("# driver\n")
    (drivers / "drivers.json").write_text(
        json.dumps({"versions": {"adafruit-circuitpython-ssd1306": "2.12.24"}, "files": {}})
    )
    monkeypatch.setattr(resources, "BUNDLED", bundled)
    assert resources.bundled()
    assert resources.firmware_dir() == bundled / "firmware"
    assert resources.boards_dir() == bundled / "boards"
    assert resources.driver("adafruit_ssd1306") == drivers / "adafruit_ssd1306.py"
    assert resources.driver("adafruit_register") == drivers / "adafruit_register"
    # Never the environment's copy: only what the package carries counts.
    assert resources.driver("adafruit_ds3231") is None
    assert resources.driver_versions() == {"adafruit-circuitpython-ssd1306": "2.12.24"}
    assert str(bundled) in resources.where()


def test_drivers_path_holds_the_pinned_drivers_for_another_interpreter():
    folder = resources.drivers_path()
    for name in ("adafruit_ssd1306.py", "adafruit_ds3231.py", "adafruit_register"):
        assert (folder / name).exists(), name
    assert (folder / "adafruit_ssd1306.py") == resources.driver("adafruit_ssd1306")


def test_use_firmware_lets_a_fresh_cpython_import_firmware_modules():
    # The firmware imports `const` from `micropython` with no fallback: a host program
    # (a fresh interpreter, outside the tests' conftest) gets both from one call.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from otpfob import resources\n"
        "lib = resources.use_firmware()\n"
        "assert sys.path[0] == lib and resources.use_firmware() == lib\n"
        "assert sys.path.count(lib) == 1\n"
        "from fob import clock, protocol\n"
        "import micropython\n"
        "print(micropython.const(7), clock.civil_from_epoch(0)[0], protocol.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["7", "1970", "fob.protocol"]


# Modules that keep a fallback of their own (none; the list only shrinks).
_CONST_FALLBACK_LEFT: set[str] = set()


def test_firmware_modules_import_const_without_a_fallback_of_their_own():
    lib = REPO / "firmware" / "lib" / "fob"
    pasted = {f.name for f in lib.glob("*.py") if "def const(" in f.read_text(encoding="utf-8")}
    assert pasted <= _CONST_FALLBACK_LEFT, sorted(pasted - _CONST_FALLBACK_LEFT)
    users = [f for f in lib.glob("*.py") if "const(" in f.read_text(encoding="utf-8")]
    for f in users:
        if f.name not in _CONST_FALLBACK_LEFT:
            assert "from micropython import const\n" in f.read_text(encoding="utf-8"), f.name
