"""Where the firmware, the board files and the Adafruit drivers are, installed or not.

An installed wheel carries them as package data under ``otpfob/bundled/`` (the build
gathers them: see ``host_tools/otpfob_build.py``):

    bundled/firmware/   boot.py, code.py, lib/fob/   (the repository's firmware/)
    bundled/boards/     one file per board           (the repository's boards/)
    bundled/drivers/    adafruit_*.py and packages, circuitpython_typing/, drivers.json
                        (the files of the pins in requirements-drivers.txt)
    bundled/LICENSE, bundled/THIRD_PARTY_NOTICES.md, bundled/LICENSES/
                        otpfob's licence and the notices of what it redistributes

In a checkout (``make setup``'s editable install) there is no ``bundled/``: the firmware
and boards are the repository's own folders, and the drivers are the pinned packages
installed next to otpfob, found by import.
"""

import importlib.util
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "bundled"
REPO = PACKAGE.parents[1]


def bundled():
    """True in an installed wheel (the package carries its own firmware)."""
    return (BUNDLED / "firmware" / "code.py").is_file()


def firmware_dir():
    """The firmware folder: boot.py, code.py and lib/fob/."""
    return BUNDLED / "firmware" if bundled() else REPO / "firmware"


def use_firmware(firmware=None):
    """Lets this CPython import the firmware's modules as the fob does (``import fob.otp``):
    puts the firmware's lib/ first on ``sys.path`` (``firmware`` names another firmware
    folder) and installs the one ``micropython`` stand-in, since the firmware imports
    ``const`` from it with no fallback. Returns the lib/ folder's path as put on sys.path."""
    import sys

    from .sim.cp import micropython_stub

    sys.modules.setdefault("micropython", micropython_stub)
    lib = str(Path(firmware if firmware is not None else firmware_dir()) / "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    return lib


def boards_dir():
    """The folder of board files (``<board_id>.py``)."""
    return BUNDLED / "boards" if bundled() else REPO / "boards"


def drivers_dir():
    """The folder holding the driver files in a wheel, laid out as a CIRCUITPY lib/;
    None in a checkout, where the drivers are installed packages."""
    return BUNDLED / "drivers" if bundled() else None


# otpfob's licence and the third-party notices, relative to the repository or bundled/.
NOTICES = ("LICENSE", "THIRD_PARTY_NOTICES.md", "LICENSES/Apache-2.0.txt")


def notice_files():
    """{relative path: file} of otpfob's licence and the third-party notices, which travel
    wherever the firmware and the drivers do (the wheel, the sdist, the CIRCUITPY zip)."""
    base = BUNDLED if bundled() else REPO
    return {rel: base / rel for rel in NOTICES}


def driver(name):
    """The file of driver module `name`, or its package folder; None when missing."""
    folder = drivers_dir()
    if folder is not None:
        for candidate in (folder / name, folder / (name + ".py")):
            if candidate.exists():
                return candidate
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin)


def drivers_path():
    """A folder holding the pinned drivers as importable modules, for another interpreter's
    module path (MicroPython's, in the tests and benchmarks): the wheel's drivers folder, or
    in a checkout the folder the driver packages are installed in."""
    folder = drivers_dir()
    if folder is not None:
        return folder
    found = driver("adafruit_ssd1306")
    if found is None:
        raise FileNotFoundError(
            "the pinned drivers are not installed (requirements-drivers.txt): run `make setup`"
        )
    return found.parent


def driver_versions():
    """{distribution: version} of the bundled drivers ({} in a checkout)."""
    return {name: v for name, (v, _) in _bundled_record().items()}


def _bundled_record():
    folder = drivers_dir()
    if folder is None:
        return {}
    try:
        record = json.loads((folder / "drivers.json").read_text())
        return {
            name: (
                version,
                sorted(
                    {f.split("/")[0].removesuffix(".py") for f in record["files"].get(name, ())}
                ),
            )
            for name, version in record["versions"].items()
        }
    except (OSError, ValueError, KeyError, AttributeError):
        return {}


def driver_distributions():
    """{distribution: (version, [top-level modules])} of the pinned driver packages: the
    bundled ones, or in a checkout the installed ones pinned in requirements-drivers.txt."""
    if bundled():
        return _bundled_record()
    from importlib import metadata

    out = {}
    pins = REPO / "requirements-drivers.txt"
    for line in pins.read_text().splitlines() if pins.is_file() else ():
        name = line.split("#", 1)[0].split("==")[0].strip()
        if not name.startswith("adafruit-circuitpython-"):
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        tops = {
            f.parts[0].removesuffix(".py")
            for f in dist.files or ()
            if f.suffix == ".py" and not f.parts[0].endswith(".dist-info")
        }
        out[name] = (dist.version, sorted(tops))
    return out


def where():
    """One line naming where the firmware is taken from, for error messages."""
    if bundled():
        return "the otpfob package (%s)" % BUNDLED
    return "the repository (%s)" % REPO
