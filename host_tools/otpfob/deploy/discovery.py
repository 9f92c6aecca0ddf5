"""What a deploy finds before it plans: the CIRCUITPY drive (by its volume label), what
the board's boot_out.txt says (CircuitPython version, board, UID), and the tools on this
computer (a CircuitPython mpy-cross of the board's major, mpremote for --via-repl).

DeployError, the error of every step of a deploy, lives here: this module imports nothing
else of the package.
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import OtpfobError

DRIVE_LABEL = "CIRCUITPY"
MIN_CIRCUITPYTHON = (8, 2, 0)
MAINTENANCE_HINT = (
    "The fob keeps its drive for itself (hidden or read-only to the computer) unless "
    "button A is held at plug-in: unplug it, hold button A while plugging it in again "
    "(maintenance mode) and retry, or pass --drive PATH. Without the drive, --via-repl "
    "copies the files over the REPL with mpremote."
)
# What to install when mpremote is missing (pyproject.toml's `repl` extra).
MPREMOTE_MISSING = (
    "--via-repl needs mpremote, which this installation lacks: pip install 'otpfob[repl]' "
    "(with pipx: pipx inject otpfob mpremote)"
)


class DeployError(OtpfobError):
    """A deploy refused or failed; the message says what to do."""


@dataclass
class BootInfo:
    version: tuple
    version_text: str
    board_id: str | None
    board_name: str | None
    uid: str | None


_BOOT_RE = re.compile(
    r"CircuitPython\s+((\d+)\.(\d+)(?:\.(\d+))?\S*)(?:\s+on\s+[^\s;]+)?(?:;\s*(.+))?"
)


def parse_boot_out(text):
    """CircuitPython version and board from the boot_out.txt CircuitPython writes at start."""
    lines = text.splitlines()
    m = None
    for line in lines[:3]:
        m = _BOOT_RE.search(line)
        if m:
            break
    if not m:
        raise DeployError(
            "boot_out.txt does not name a CircuitPython version; is this a CircuitPython drive?"
        )
    version = (int(m.group(2)), int(m.group(3)), int(m.group(4) or 0))
    board_id = uid = None
    for line in lines:
        if line.startswith("Board ID:"):
            board_id = line.split(":", 1)[1].strip() or None
        elif line.startswith("UID:"):
            uid = line.split(":", 1)[1].strip() or None
    name = m.group(5).strip() if m.group(5) else None
    return BootInfo(version, m.group(1), board_id, name, uid)


def check_version(info):
    if info.version < MIN_CIRCUITPYTHON:
        need = ".".join(str(x) for x in MIN_CIRCUITPYTHON)
        where = "https://circuitpython.org/board/%s/" % (info.board_id or "")
        raise DeployError(
            "CircuitPython %s on the board is too old: the otpfob firmware needs "
            "CircuitPython %s or newer (9.x or 10.x recommended); update it from %s"
            % (info.version_text, need, where)
        )


def unescape_mount(path):
    # /proc/mounts writes spaces and tabs in mount points as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def linux_candidates():
    """Folders that may be a CIRCUITPY drive on Linux (find_drives checks each)."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    found = []
    for base in ("/media/%s" % user, "/run/media/%s" % user, "/media", "/mnt"):
        p = Path(base)
        if p.is_dir():
            try:
                found += sorted(x for x in p.iterdir() if x.name.startswith(DRIVE_LABEL))
            except OSError:
                pass
    by_label = Path("/dev/disk/by-label") / DRIVE_LABEL
    device = os.path.realpath(by_label) if by_label.exists() else None
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                mount = unescape_mount(parts[1])
                if os.path.basename(mount).startswith(DRIVE_LABEL) or (
                    device and os.path.realpath(parts[0]) == device
                ):
                    found.append(Path(mount))
    except OSError:
        pass
    if shutil.which("lsblk"):
        try:
            out = subprocess.run(
                ["lsblk", "-rno", "LABEL,MOUNTPOINT"], capture_output=True, text=True, timeout=5
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            parts = line.split(" ", 1)
            if len(parts) == 2 and parts[0] == DRIVE_LABEL and parts[1]:
                found.append(Path(unescape_mount(parts[1].replace("\\x20", " "))))
    return found


def _windows_candidates():
    import ctypes  # Windows only

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]  # Windows only
    mask = kernel32.GetLogicalDrives()
    found = []
    for i in range(26):
        if not mask & (1 << i):
            continue
        root = "%s:\\" % chr(ord("A") + i)
        label = ctypes.create_unicode_buffer(261)
        fs = ctypes.create_unicode_buffer(261)
        ok = kernel32.GetVolumeInformationW(
            ctypes.c_wchar_p(root), label, 261, None, None, None, fs, 261
        )
        if ok and label.value == DRIVE_LABEL:
            found.append(Path(root))
    return found


def find_drives():
    """Mounted CIRCUITPY drives (a folder holding boot_out.txt)."""
    if sys.platform.startswith("win"):
        candidates = _windows_candidates()
    elif sys.platform == "darwin":
        candidates = sorted(Path("/Volumes").glob(DRIVE_LABEL + "*"))
    else:
        candidates = linux_candidates()
    drives: list[Path] = []
    for c in candidates:
        if (c / "boot_out.txt").is_file() and c.resolve() not in [d.resolve() for d in drives]:
            drives.append(c)
    return drives


def find_drive():
    drives = find_drives()
    if not drives:
        raise DeployError("no %s drive found. %s" % (DRIVE_LABEL, MAINTENANCE_HINT))
    if len(drives) > 1:
        raise DeployError(
            "several %s drives found (%s); pick one with --drive PATH"
            % (DRIVE_LABEL, ", ".join(str(d) for d in drives))
        )
    return drives[0]


@dataclass
class MpyCross:
    path: str
    version_line: str

    def compile(self, source, name, workdir, dest=None):
        """Compile `source` bytes (module file `name`) and return the .mpy bytes."""
        src = Path(workdir) / "src" / name
        out = src.with_suffix(".mpy")
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(source)
        res = subprocess.run(
            [self.path, "-o", str(out), "-s", name, str(src)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if res.returncode != 0 or not out.is_file():
            raise DeployError(
                "%s failed on %s: %s" % (self.path, name, (res.stderr or res.stdout).strip())
            )
        return out.read_bytes()


def find_mpy_cross(major):
    """A CircuitPython mpy-cross for CircuitPython `major`.x on PATH, or (None, reason).

    MicroPython's mpy-cross writes files CircuitPython refuses, and .mpy formats change
    between CircuitPython majors, so only a matching CircuitPython one is used.
    """
    names = ["mpy-cross-cp%d" % major, "mpy-cross-cp%d.x" % major, "mpy-cross"]
    seen = []
    for name in names:
        path = shutil.which(name)
        if not path:
            continue
        try:
            res = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
            line = (
                (res.stdout or res.stderr).strip().splitlines()[0]
                if (res.stdout or res.stderr).strip()
                else ""
            )
        except (OSError, subprocess.SubprocessError):
            line = ""
        m = re.search(r"CircuitPython\s+(\d+)\.", line)
        if m and int(m.group(1)) == major:
            return MpyCross(path, line), None
        seen.append("%s (%s)" % (name, line or "no version"))
    if seen:
        return None, "no CircuitPython %d.x mpy-cross on PATH; ignored %s" % (
            major,
            "; ".join(seen),
        )
    return None, "no CircuitPython %d.x mpy-cross on PATH" % major


def find_mpremote():
    """The command that runs mpremote: on PATH, beside this Python, or its module here."""
    import importlib.util

    found = shutil.which("mpremote")
    if found:
        return [found]
    sibling = Path(sys.executable).with_name("mpremote")
    if sibling.exists():
        return [str(sibling)]
    if importlib.util.find_spec("mpremote") is None:
        raise DeployError(MPREMOTE_MISSING)
    return [sys.executable, "-m", "mpremote"]
