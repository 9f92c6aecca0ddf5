"""The bundle for people who drag files: ``otpfob-VERSION-circuitpython.zip``.

    python -m otpfob.bundle dist        (`make dist` runs it after building the wheel)

One folder per CircuitPython format and board, each holding exactly what `otpfob deploy`
would copy onto that board's CIRCUITPY drive (the same plan: boot.py, code.py, the board
file as fob_board.py, lib/ with the firmware and the pinned drivers, and deploy's
manifest), the way CircuitPython library bundles ship:

    otpfob-0.1.0-circuitpython/README.txt
    otpfob-0.1.0-circuitpython/LICENSE, THIRD_PARTY_NOTICES.md, LICENSES/
    otpfob-0.1.0-circuitpython/py/raspberry_pi_pico/...       any CircuitPython 8.2+
    otpfob-0.1.0-circuitpython/9.x-mpy/raspberry_pi_pico/...  CircuitPython 9.x (and 8.x,
                                                                10.x the same way)

The .mpy files are the committed ones (firmware/mpy/, see mpyfiles.py; deploy.compiler
picks them, or a CircuitPython mpy-cross of that major on PATH when they are stale):
CircuitPython refuses .mpy files from MicroPython's mpy-cross (the ones mpy-cross-multi
ships), whose first byte is 'M' where CircuitPython's is 'C'.
"""

import sys
import zipfile
from pathlib import Path

from . import __version__, deploy, resources

MAJORS = (8, 9, 10)
# A fixed timestamp for every entry, so the same sources give the same zip.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def variants(majors=MAJORS, find_mpy_cross=None, firmware_dir=None):
    """[(folder, BootInfo, compiler or None)]: "py" always, "N.x-mpy" for each major with
    .mpy files (committed and current, or a CircuitPython mpy-cross on PATH); and the notes
    on the majors left out."""
    low = ".".join(str(x) for x in deploy.MIN_CIRCUITPYTHON[:2])
    out = [
        ("py", deploy.BootInfo(deploy.MIN_CIRCUITPYTHON, low + " or newer", None, None, None), None)
    ]
    notes = []
    for major in majors:
        mpy, reason = deploy.compiler(major, firmware_dir, find_mpy_cross)
        if mpy is None:
            notes.append(reason)
            continue
        info = deploy.BootInfo((major, 0, 0), "%d.x" % major, None, None, None)
        out.append(("%d.x-mpy" % major, info, mpy))
    return out, notes


def readme(version, boards, folders, notes, driver_versions):
    lines = [
        "otpfob %s for CircuitPython" % version,
        "",
        "Each folder <format>/<board>/ holds everything that goes onto the CIRCUITPY drive",
        "of that board: boot.py, code.py, fob_board.py (the board's pins), lib/fob/ (the",
        "firmware) and the Adafruit drivers it needs, in the versions otpfob is tested with.",
        "",
        "1. Install CircuitPython 8.2 or newer (9 or 10 recommended) on the board.",
        "2. Pick the folder: N.x-mpy/<board>/ for CircuitPython N.x when there is one (its",
        "   .mpy files start faster and use less of the board's memory), else py/<board>/.",
        "3. Copy everything inside that folder onto the CIRCUITPY drive, replacing boot.py",
        "   and code.py, and keep the folder structure (lib/fob/, lib/adafruit_register/...).",
        "   Remove an older lib/fob/ first if the drive has one.",
        "4. Unplug the board and plug it in again (boot.py only runs at power-on). The fob",
        '   says "Clock not set": run `otpfob time set`, then add accounts with `otpfob add`',
        "   or `otpfob import` (pip install otpfob, or pipx install otpfob).",
        "",
        "After that first boot the fob hides its drive from the computer. To update it, hold",
        "button A while plugging it in and confirm on the screen (this erases the accounts);",
        "or let `otpfob deploy` copy and verify the files for you.",
        "",
        "otpfob is under the MIT licence (LICENSE); the Adafruit drivers in lib/ are under",
        "theirs, named in THIRD_PARTY_NOTICES.md beside this file.",
        "",
        "Boards: %s" % ", ".join(boards),
        "Folders in this zip: %s" % ", ".join(folders),
    ]
    if notes:
        lines.append("No .mpy folder where no .mpy files were at hand:")
        lines += ["  %s" % n for n in notes]
    if driver_versions:
        lines.append("Drivers (in lib/):")
        lines += ["  %s %s" % kv for kv in sorted(driver_versions.items())]
    return "\n".join(lines) + "\n"


def _add(z, name, data):
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    z.writestr(info, data)


def build_bundle(
    out_dir,
    version=__version__,
    boards=None,
    majors=MAJORS,
    find_mpy_cross=None,
    firmware_dir=None,
    boards_dir=None,
):
    """Write ``<out_dir>/otpfob-<version>-circuitpython.zip``; returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    boards = list(boards or deploy.known_boards(boards_dir))
    found, notes = variants(majors, find_mpy_cross, firmware_dir)
    top = "otpfob-%s-circuitpython" % version
    path = out_dir / (top + ".zip")
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        for folder, info, mpy in found:
            for board in boards:
                plan = deploy.build_plan(info, board, mpy, None, firmware_dir, boards_dir)
                base = "%s/%s/%s/" % (top, folder, board)
                for item in plan.items:
                    _add(z, base + item.dest, item.data)
                _add(z, base + deploy.MANIFEST, plan.manifest_bytes())
        versions = {
            name: version
            for name, (version, tops) in resources.driver_distributions().items()
            if set(tops) & set(deploy.ADAFRUIT_LIBS)
        }
        _add(
            z,
            top + "/README.txt",
            readme(version, boards, [f for f, _, _ in found], notes, versions),
        )
        for rel, src in resources.notice_files().items():
            try:
                _add(z, top + "/" + rel, src.read_bytes())
            except OSError as e:
                raise deploy.DeployError(
                    "%s, which the zip must carry, cannot be read (%s)" % (rel, e)
                ) from e
    tmp.replace(path)
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m otpfob.bundle OUT_DIR", file=sys.stderr)
        return 2
    try:
        path = build_bundle(argv[0])
    except deploy.DeployError as e:
        print("otpfob bundle: error: %s" % e, file=sys.stderr)
        return 1
    with zipfile.ZipFile(path) as z:
        folders = sorted({n.split("/")[1] for n in z.namelist() if n.count("/") > 2})
    print("%s (%.1f KiB; %s)" % (path, path.stat().st_size / 1024, ", ".join(folders)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
