"""Copy the otpfob firmware onto a CircuitPython board.

One flow, ``install(target, ...)``, over two targets:

- ``DriveTarget``: the CIRCUITPY USB drive (found by its volume label, or ``--drive``),
  the normal way;
- ``ReplTarget``: the REPL through ``mpremote`` (``--via-repl``), for a fob whose drive
  is hidden.

A target only reads, lists, writes, reads back, renames and removes files; everything
else (the plan, the CircuitPython version check, who owns code.py, free space, the
verification) is the flow's. The plan: ``boot.py``, ``code.py``, the board file as
``fob_board.py``, the firmware package ``lib/fob/`` and the Adafruit drivers it needs,
in the exact versions the tests use (pinned in requirements-drivers.txt; an installed
otpfob carries their files, see resources.py). lib/ goes as .mpy files for the board's
CircuitPython major (the ones committed in firmware/mpy/, see mpyfiles.py) unless --py
asks for source. Files are written under temporary names,
read back and checked, and only then renamed into place, so a failed copy leaves the
previous firmware working.
"""

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

import click

from . import resources
from .errors import OtpfobError

# The repository's folders in a checkout, the package's own copies in an installed wheel.
FIRMWARE_DIR = resources.firmware_dir()
BOARDS_DIR = resources.boards_dir()

DRIVE_LABEL = "CIRCUITPY"
MIN_CIRCUITPYTHON = (8, 2, 0)
MANIFEST = ".otpfob"
TMP_SUFFIX = ".otpfob-new"
# The Adafruit drivers the firmware imports, directly or through each other.
ADAFRUIT_LIBS = (
    "adafruit_ssd1306",
    "adafruit_framebuf",
    "adafruit_ds3231",
    "adafruit_register",
    "adafruit_bus_device",
    "adafruit_hid",  # imported only when the fob types a code (fob/hidtype.py)
)
# Boards in boards/ that are not real hardware.
NOT_DEPLOYABLE = ("sim",)
# What a fresh CircuitPython install puts in code.py: safe to replace.
STOCK_CODE = ('print("Hello World!")', "print('Hello World!')", "")
# CircuitPython runs the first of these that exists, so a code.txt hides our code.py.
SHADOWING_CODE = ("code.txt",)
# Kept as source: CircuitPython only runs boot.py/code.py as .py, and the board file stays
# readable so pins can be checked on the drive.
KEEP_SOURCE = ("boot.py", "code.py", "fob_board.py")
MAINTENANCE_HINT = (
    "The fob keeps its drive for itself (hidden or read-only to the computer) unless "
    "button A is held at plug-in: unplug it, hold button A while plugging it in again "
    "(maintenance mode) and retry, or pass --drive PATH. Without the drive, --via-repl "
    "copies the files over the REPL with mpremote."
)


class DeployError(OtpfobError):
    """A deploy refused or failed; the message says what to do."""


# --------------------------------------------------------------------------- boot_out.txt


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


# --------------------------------------------------------------------------- finding the drive


def _unescape_mount(path):
    # /proc/mounts writes spaces and tabs in mount points as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _linux_candidates():
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
                mount = _unescape_mount(parts[1])
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
                found.append(Path(_unescape_mount(parts[1].replace("\\x20", " "))))
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
        candidates = _linux_candidates()
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


# --------------------------------------------------------------------------- boards


def known_boards(boards_dir=None):
    return sorted(
        p.stem
        for p in Path(boards_dir or BOARDS_DIR).glob("*.py")
        if p.stem not in NOT_DEPLOYABLE and not p.stem.startswith("_")
    )


def board_file(name, boards_dir=None):
    boards_dir = Path(boards_dir or BOARDS_DIR)
    known = known_boards(boards_dir)
    if name not in known:
        why = (
            "is the simulator's, not a real board"
            if name in NOT_DEPLOYABLE
            else ("has no board file in %s" % Path(boards_dir).name + "/")
        )
        raise DeployError(
            "board %r %s; known boards: %s. Pass --board NAME, or add boards/%s.py"
            % (name, why, ", ".join(known) or "(none)", name)
        )
    return Path(boards_dir) / (name + ".py")


# --------------------------------------------------------------------------- mpy-cross


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


# --------------------------------------------------------------------------- the plan


class Compiler(Protocol):
    """What a plan records of the .mpy files' maker (MpyCross, mpyfiles.Committed)."""

    version_line: str


@dataclass
class PlanItem:
    dest: str  # posix path on the drive, e.g. "lib/fob/otp.mpy"
    data: bytes
    source: str  # where it came from, for the dry-run listing
    compiled: bool = False

    @property
    def sha256(self):
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Plan:
    board: str
    info: BootInfo
    items: list[PlanItem]
    mpy: Compiler | None  # an MpyCross or mpyfiles.Committed
    mpy_reason: str | None
    firmware_version: str
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self):
        return sum(len(i.data) for i in self.items)

    @property
    def format(self):
        return "mpy" if self.mpy else "py"

    def manifest(self):
        return {
            "tool": "otpfob",
            "firmware": self.firmware_version,
            "board": self.board,
            "circuitpython": self.info.version_text,
            "format": self.format,
            "compiler": self.mpy.version_line if self.mpy else None,
            "files": {i.dest: {"size": len(i.data), "sha256": i.sha256} for i in self.items},
        }

    def manifest_bytes(self):
        return (json.dumps(self.manifest(), indent=1, sort_keys=True) + "\n").encode()


def firmware_version(firmware_dir=None):
    try:
        text = (Path(firmware_dir or FIRMWARE_DIR) / "lib" / "fob" / "version.py").read_text()
    except OSError:
        return "unknown"
    m = re.search(r"^FIRMWARE\s*=\s*[\"']([^\"']+)", text, re.M)
    return m.group(1) if m else "unknown"


def _tree_files(root):
    root = Path(root)
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if (
            p.is_file()
            and "__pycache__" not in rel
            and p.suffix != ".pyc"
            and not any(x.startswith(".") for x in rel)
        ):
            yield p


def firmware_files(firmware_dir):
    """The firmware's files as they go onto a drive: boot.py, code.py, lib/fob/ (not the
    precompiled trees in mpy/, whose files stand in for lib/'s when a deploy uses them)."""
    from .mpyfiles import FOLDER

    for p in _tree_files(firmware_dir):
        if p.relative_to(firmware_dir).parts[0] != FOLDER:
            yield p


def library_sources():
    """(dest path under lib/, source path) for each Adafruit driver file."""
    out = []
    for name in ADAFRUIT_LIBS:
        found = resources.driver(name)
        if found is None:
            raise DeployError(
                "the driver %s is missing from %s; run `make setup` in a checkout, or "
                "reinstall otpfob" % (name, resources.where())
            )
        if found.is_dir():
            for p in sorted(found.glob("*.py")):
                out.append(("lib/%s/%s" % (name, p.name), p))
        else:
            out.append(("lib/%s" % found.name, found))
    return out


def build_plan(info, board, mpy=None, mpy_reason=None, firmware_dir=None, boards_dir=None):
    firmware_dir = Path(firmware_dir or FIRMWARE_DIR)
    bfile = board_file(board, boards_dir)
    for needed in ("boot.py", "code.py"):
        if not (firmware_dir / needed).is_file():
            raise DeployError("the firmware has no %s (looked in %s)" % (needed, firmware_dir))
    if not (firmware_dir / "lib" / "fob").is_dir():
        raise DeployError("the firmware has no lib/fob package (looked in %s)" % firmware_dir)
    sources = []
    for p in firmware_files(firmware_dir):
        sources.append((p.relative_to(firmware_dir).as_posix(), p))
    sources.append(("fob_board.py", bfile))
    sources += library_sources()
    items = []
    with tempfile.TemporaryDirectory(prefix="otpfob-mpy-") as work:
        for dest, src in sources:
            data = src.read_bytes()
            if mpy and dest.endswith(".py") and dest not in KEEP_SOURCE:
                mpy_data = mpy.compile(data, PurePosixPath(dest).name, work, dest=dest)
                items.append(PlanItem(dest[:-3] + ".mpy", mpy_data, str(src), True))
            else:
                items.append(PlanItem(dest, data, str(src)))
    # Libraries first and code.py last: CircuitPython reloads code.py as soon as files
    # change, and it should find everything it imports when it does.
    order = {"fob_board.py": 1, "boot.py": 2, "code.py": 3}
    items.sort(key=lambda i: (order.get(i.dest, 0), i.dest))
    return Plan(board, info, items, mpy, mpy_reason, firmware_version(firmware_dir))


SETTINGS = "settings.toml"
_SETTINGS_NOTE = "# otpfob's settings (see its firmware/settings.toml)"


def merge_settings(ours, theirs):
    """The settings.toml to write: the drive's own (``theirs``, bytes or None) with each
    key that ours sets replaced by our line, and ours alone when the drive has none."""
    if not theirs:
        return ours
    mine = {}
    for line in ours.decode("utf-8").splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#"):
            mine[key] = line
    out = []
    for line in theirs.decode("utf-8", "replace").splitlines():
        key = line.split("=", 1)[0].strip()
        if (
            "=" in line and not line.lstrip().startswith("#") and key in mine
        ) or line == _SETTINGS_NOTE:
            continue  # ours replaces it below
        out.append(line)
    if out and out[-1].strip():
        out.append("")
    out.append(_SETTINGS_NOTE)
    out.extend(mine.values())
    return ("\n".join(out) + "\n").encode("utf-8")


def _keep_settings(plan, theirs):
    # A settings.toml already on the drive keeps its other settings (Wi-Fi, web workflow).
    for i, item in enumerate(plan.items):
        if item.dest == SETTINGS and theirs is not None and theirs != item.data:
            plan.items[i] = PlanItem(SETTINGS, merge_settings(item.data, theirs), item.source)


def stale_files(plan, old_manifest, existing):
    """Files on the drive to remove after the copy: the other form (.py/.mpy) of what we
    install, which would shadow or confuse the import, and files an earlier otpfob deploy
    wrote that this firmware no longer has. `existing` says whether a drive path exists."""
    new = {i.dest for i in plan.items}
    out = []
    for dest in sorted(new):
        if dest in KEEP_SOURCE:
            continue
        if dest.endswith(".mpy"):
            other = dest[:-4] + ".py"
        elif dest.endswith(".py"):
            other = dest[:-3] + ".mpy"
        else:
            continue
        if other not in new and existing(other):
            out.append(other)
    if old_manifest:
        for dest in sorted(old_manifest.get("files", {})):
            if dest not in new and dest not in out and _safe_rel(dest) and existing(dest):
                out.append(dest)
    return out


def _safe_rel(dest):
    p = PurePosixPath(dest)
    return not p.is_absolute() and ".." not in p.parts and dest != MANIFEST


# --------------------------------------------------------------------------- ownership


def check_ownership(plan, found, old_manifest, force, echo):
    """Refuse to replace another project's program unless forced.

    `found` maps "code.py", "boot.py" and "code.txt" to their bytes on the board (None
    when absent). code.py and boot.py are ours when they are what we install now, what an
    earlier otpfob deploy recorded in its manifest (unchanged since), or CircuitPython's
    stock code.py. Returns the shadowing files to move aside (only when forced)."""
    problems = []
    for name in ("code.py", "boot.py"):
        data = found.get(name)
        if data is None:
            continue
        ours = {i.sha256 for i in plan.items if i.dest == name}
        rec = (old_manifest or {}).get("files", {}).get(name)
        if rec and rec.get("sha256"):
            ours.add(rec["sha256"])
        stock = name == "code.py" and data.decode("utf-8", "replace").strip() in STOCK_CODE
        if not stock and hashlib.sha256(data).hexdigest() not in ours:
            why = "was changed since otpfob installed it" if rec else ("belongs to another project")
            problems.append("%s on the board %s" % (name, why))
    aside = []
    for name in SHADOWING_CODE:
        if found.get(name) is not None:
            problems.append("%s on the board would run instead of code.py" % name)
            aside.append(name)
    if problems and not force:
        raise DeployError(
            "%s; refusing to overwrite it (copy it somewhere safe, then pass --force)"
            % "; ".join(problems)
        )
    for p in problems:
        echo("warning: %s; replacing it (--force)" % p)
    return aside


# --------------------------------------------------------------------------- output


def _size(n):
    if n < 1024:
        return "%d B" % n
    if n < 1024 * 1024:
        return "%.1f KiB" % (n / 1024)
    return "%.1f MiB" % (n / (1024 * 1024))


def print_plan(plan, echo):
    kind = ".mpy (compiled with %s)" % plan.mpy.version_line if plan.mpy else ".py"
    echo(
        "otpfob firmware %s for board %s on CircuitPython %s"
        % (plan.firmware_version, plan.board, plan.info.version_text)
    )
    echo("installing %s" % kind)
    if not plan.mpy and plan.mpy_reason:
        echo("  (%s; .mpy files would save RAM on the fob)" % plan.mpy_reason)
    width = max(len(i.dest) for i in plan.items)
    for i in plan.items:
        echo(
            "  %-*s %10s  %s"
            % (width, i.dest, _size(len(i.data)), "mpy" if i.dest.endswith(".mpy") else "py")
        )
    echo("  %-*s %10s  (%d files)" % (width, "total", _size(plan.total_bytes), len(plan.items)))


def first_boot_message(echo):
    echo("Unplug the fob and plug it in again: boot.py only runs at power-on.")
    echo('On first boot the fob shows "Clock not set" until you run `otpfob time set`,')
    echo('then "No accounts" until you add one (`otpfob add` or `otpfob import`).')
    echo("Accounts already stored on the fob are kept.")


def _warn_board(plan, echo):
    if plan.info.board_id and plan.info.board_id != plan.board:
        echo(
            "warning: the board reports itself as %s but the board file is %s"
            % (plan.info.board_id, plan.board)
        )


def _choose_board(info, board, boards_dir):
    if board:
        return board
    if not info.board_id:
        raise DeployError(
            "boot_out.txt has no Board ID line; pass --board NAME (known boards: %s)"
            % ", ".join(known_boards(boards_dir))
        )
    return info.board_id


def compiler(major, firmware_dir=None, find=None):
    """(what makes the .mpy files for CircuitPython `major`, None) or (None, why none):
    the committed files (firmware/mpy/, see mpyfiles.py) when they match the sources, else
    a CircuitPython mpy-cross of that major on PATH."""
    from . import mpyfiles

    found, reason = mpyfiles.committed(major, firmware_dir)
    if found is not None:
        return found, None
    mpy, why = (find or find_mpy_cross)(major)
    if mpy is not None:
        return mpy, None
    return None, "%s, and %s" % (reason, why)


def _compiler(info, use_mpy, firmware_dir=None):
    if not use_mpy:
        return None, "--py asked for source files"
    return compiler(info.version[0], firmware_dir)


# --------------------------------------------------------------------------- one flow


@dataclass
class Result:
    plan: Plan
    written: list
    removed: list
    target: str


def _read_optional(path):
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def _load_manifest(data):
    if not data:
        return None
    try:
        m = json.loads(data)
    except ValueError:
        return None
    return m if isinstance(m, dict) and m.get("tool") == "otpfob" else None


def _needed_space(plan, cluster):
    def rounded(n):
        return -(-n // cluster) * cluster

    dirs = {str(PurePosixPath(i.dest).parent) for i in plan.items}
    # Every file is staged beside the one it replaces, so the whole new set must fit at
    # once; directory entries and the manifest take a few clusters more.
    return sum(rounded(len(i.data)) for i in plan.items) + cluster * (len(dirs) + 4)


def _other_forms(plan, old_manifest):
    """Board paths that could go stale: the other form (.py/.mpy) of each file we
    install, and what an earlier deploy's manifest lists."""
    wanted = set()
    for i in plan.items:
        if i.dest.endswith(".mpy"):
            wanted.add(i.dest[:-4] + ".py")
        elif i.dest.endswith(".py"):
            wanted.add(i.dest[:-3] + ".mpy")
    if old_manifest:
        wanted.update(d for d in old_manifest.get("files", {}) if _safe_rel(d))
    return sorted(wanted)


def _check_copy(items, copies):
    """What differs between the items and the bytes read back (`copies`, in the same
    order; an OSError where a file could not be read)."""
    bad = []
    for item, data in zip(items, copies, strict=True):
        if isinstance(data, OSError):
            bad.append("%s: unreadable (%s)" % (item.dest, data.strerror or data))
        elif data is None:
            bad.append("%s: missing" % item.dest)
        elif len(data) != len(item.data):
            bad.append("%s: %d bytes, expected %d" % (item.dest, len(data), len(item.data)))
        elif hashlib.sha256(data).hexdigest() != item.sha256:
            bad.append("%s: SHA-256 differs" % item.dest)
    return bad


def install(
    target,
    board=None,
    force=False,
    dry_run=False,
    use_mpy=True,
    firmware_dir=None,
    boards_dir=None,
    echo=print,
    progress=None,
):
    """The deploy itself, the same for every target (a DriveTarget or a ReplTarget):
    read boot_out.txt, plan, refuse what is not ours, check space, stage every file
    under a temporary name, read it back, then rename into place and check again.
    ``progress(text)``, when given, returns a context manager that shows ``text`` while
    a slow step runs (the CLI's spinner). Returns a Result; raises DeployError with what
    to do."""
    step = progress or (lambda text: contextlib.nullcontext())
    boot = target.read("boot_out.txt")
    if boot is None:
        raise target.no_boot_out()
    info = parse_boot_out(boot.decode("utf-8", "replace"))
    check_version(info)
    board = _choose_board(info, board, boards_dir)
    mpy, reason = _compiler(info, use_mpy, firmware_dir)
    plan = build_plan(info, board, mpy, reason, firmware_dir, boards_dir)
    _warn_board(plan, echo)
    echo(target.label)
    print_plan(plan, echo)
    old_manifest = _load_manifest(target.read(MANIFEST))
    found = {n: target.read(n) for n in ("code.py", "boot.py") + SHADOWING_CODE}
    _keep_settings(plan, target.read(SETTINGS))
    aside = check_ownership(plan, found, old_manifest, force, echo)
    existing = target.existing(_other_forms(plan, old_manifest))
    stale = stale_files(plan, old_manifest, lambda d: d in existing)
    for s in stale:
        echo("  remove %s (replaced)" % s)
    free, cluster = target.space()
    need = _needed_space(plan, cluster)
    if free < need:
        raise DeployError(
            "not enough free space on %s: the firmware needs %s, %s free. Remove files "
            "you no longer need from it (old libraries in lib/) and try again; nothing "
            "was written" % (target.name, _size(need), _size(free))
        )
    writable = target.writable()
    if dry_run:
        if not writable:
            echo("warning: %s is read-only to this computer" % target.name)
        echo("dry run: nothing written (%s needed, %s free)" % (_size(need), _size(free)))
        return Result(plan, [], [], target.name)
    if not writable:
        raise target.read_only()

    items = plan.items + [PlanItem(MANIFEST, plan.manifest_bytes(), "manifest")]
    staged = [i.dest + TMP_SUFFIX for i in items]
    try:
        with step("copying %d files (%s) %s" % (len(items), _size(plan.total_bytes), target.where)):
            target.write([(t, i.data) for t, i in zip(staged, items, strict=True)])
        with step("reading back %d files %s" % (len(items), target.where)):
            bad = _check_copy(items, target.read_back(staged))
        if bad:
            raise DeployError(
                "the copy %s did not read back correctly: %s. Nothing was replaced; try "
                "again, and if it repeats the board's flash may be failing"
                % (target.where, "; ".join(bad))
            )
    except DeployError:
        target.remove(staged)
        raise
    removed = target.commit(aside, [(t, i.dest) for t, i in zip(staged, items, strict=True)], stale)
    for name in aside:
        echo("moved %s aside to %s.disabled" % (name, name))
    with step("checking the installed files %s" % target.where):
        bad = _check_copy(plan.items, target.read_back([i.dest for i in plan.items]))
    if bad:
        raise DeployError(
            "after the copy, files %s differ from the firmware: %s; deploy "
            "again" % (target.where, "; ".join(bad))
        )
    echo(
        "verified %d files (%s) by size and SHA-256 %s"
        % (len(plan.items), _size(plan.total_bytes), target.where)
    )
    first_boot_message(echo)
    return Result(plan, [i.dest for i in plan.items], removed, target.name)


# --------------------------------------------------------------------------- a drive


def free_bytes(path):
    return shutil.disk_usage(path).free


def drive_writable(path):
    return os.access(path, os.W_OK)


def cluster_size(path):
    try:
        st = os.statvfs(path)
        return max(512, st.f_bsize or st.f_frsize)
    except (AttributeError, OSError):
        return 4096


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _writable_error(drive, e):
    return DeployError(
        "cannot write to %s (%s). The fob's firmware may hold the flash and show the drive "
        "read-only to this computer. %s" % (drive, e.strerror or e, MAINTENANCE_HINT)
    )


class DriveTarget:
    """A mounted CIRCUITPY drive: plain file operations on a folder."""

    def __init__(self, drive):
        self.drive = Path(drive)
        self.name = str(self.drive)
        self.label = "drive: %s" % self.drive
        self.where = "on %s" % self.drive
        if not self.drive.is_dir():
            raise DeployError("%s is not a folder. %s" % (self.drive, MAINTENANCE_HINT))

    def no_boot_out(self):
        return DeployError(
            "%s has no boot_out.txt, so it is not a CircuitPython drive "
            "(CircuitPython writes that file at every start)" % self.drive
        )

    def read_only(self):
        return _writable_error(self.drive, OSError(errno.EROFS, "read-only"))

    def read(self, rel):
        return _read_optional(self.drive / rel)

    def existing(self, rels):
        return {r for r in rels if (self.drive / r).is_file()}

    def space(self):
        return free_bytes(self.drive), cluster_size(self.drive)

    def writable(self):
        return drive_writable(self.drive)

    def write(self, files):
        done = []
        try:
            for rel, data in files:
                p = self.drive / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                done.append(rel)
                write_file(p, data)
        except OSError as e:
            self.remove(done)
            if e.errno == errno.ENOSPC:
                raise DeployError(
                    "%s filled up during the copy; nothing was replaced. "
                    "Remove files you no longer need and try again" % self.drive
                ) from e
            raise _writable_error(self.drive, e) from e

    def read_back(self, rels):
        out = []
        for rel in rels:
            try:
                out.append((self.drive / rel).read_bytes())
            except OSError as e:
                out.append(e)
        return out

    def remove(self, rels):
        for rel in rels:
            try:
                os.unlink(self.drive / rel)
            except OSError:
                pass

    def commit(self, aside, renames, stale):
        for name in aside:
            os.replace(self.drive / name, self.drive / (name + ".disabled"))
        for tmp, dest in renames:
            os.replace(self.drive / tmp, self.drive / dest)
        removed = []
        for s in stale:
            try:
                (self.drive / s).unlink()
                removed.append(s)
            except OSError:
                pass
        if hasattr(os, "sync"):
            os.sync()
        return removed


def deploy_to_drive(
    drive=None,
    board=None,
    force=False,
    dry_run=False,
    use_mpy=True,
    firmware_dir=None,
    boards_dir=None,
    echo=print,
    progress=None,
):
    """Install the firmware on a mounted CIRCUITPY drive; returns a Result."""
    target = DriveTarget(drive if drive else find_drive())
    return install(target, board, force, dry_run, use_mpy, firmware_dir, boards_dir, echo, progress)


# --------------------------------------------------------------------------- the REPL


# What to install when mpremote is missing (pyproject.toml's `repl` extra).
MPREMOTE_MISSING = (
    "--via-repl needs mpremote, which this installation lacks: pip install 'otpfob[repl]' "
    "(with pipx: pipx inject otpfob mpremote)"
)


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


class Mpremote:
    """Runs `mpremote connect PORT ...` and turns its failures into DeployErrors."""

    def __init__(self, port, command=None):
        self.port = port
        self.command = command or find_mpremote()

    def run(self, *args, check=True):
        argv = self.command + ["connect", self.port] + list(args)
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        except FileNotFoundError as e:
            raise DeployError(MPREMOTE_MISSING) from e
        except subprocess.TimeoutExpired as e:
            raise DeployError("mpremote on %s did not finish in time" % self.port) from e
        if check and res.returncode != 0:
            raise self.error(res)
        return res

    def error(self, res):
        text = (res.stderr or res.stdout).strip()
        last = text.splitlines()[-1] if text else "exit status %d" % res.returncode
        if "Errno 30" in text or "EROFS" in text or "Read-only" in text:
            return DeployError(
                "the board's flash is read-only to the REPL: the computer holds the CIRCUITPY "
                "drive (maintenance mode, or no otpfob boot.py yet); deploy to the drive "
                "instead (without --via-repl)"
            )
        return DeployError("mpremote on %s failed: %s" % (self.port, last))

    def fetch(self, remote, local):
        """Copy a file off the board; None when it is not there."""
        res = self.run("fs", "cp", ":" + remote, str(local), check=False)
        if res.returncode != 0 or not Path(local).is_file():
            return None
        return Path(local).read_bytes()

    def exec(self, code):
        return self.run("exec", code).stdout


def _chain(commands):
    argv: list[str] = []
    for c in commands:
        if argv:
            argv.append("+")
        argv += c
    return argv


def _remote_remove(paths):
    return "import os\nfor b in %r:\n try:\n  os.remove(b)\n except OSError:\n  pass\n" % (
        list(paths),
    )


class ReplTarget:
    """The board's flash through its REPL (mpremote), for a fob whose drive is hidden.
    Files go through a local folder; each batch is one chained mpremote call."""

    def __init__(self, mp, work):
        self.mp = mp
        self.work = Path(work)
        self.name = mp.port
        self.label = "REPL: %s (mpremote)" % mp.port
        self.where = "over the REPL"
        self._n = 0

    def _local(self):
        self._n += 1
        return self.work / ("f%d" % self._n)

    def no_boot_out(self):
        res = self.mp.run("fs", "cp", ":boot_out.txt", str(self._local()), check=False)
        return DeployError("could not read boot_out.txt over the REPL: %s" % self.mp.error(res))

    def read_only(self):  # never raised: the REPL reports a read-only flash when writing
        return DeployError("the board's flash is read-only to the REPL")

    def read(self, rel):
        return self.mp.fetch(rel, self._local())

    def existing(self, rels):
        if not rels:
            return set()
        out = self.mp.exec(
            "import os\nfor p in %r:\n try:\n  os.stat(p)\n  print('otpfob-has', p)\n"
            " except OSError:\n  pass\n" % (list(rels),)
        )
        return {
            line.split(" ", 1)[1].strip()
            for line in out.splitlines()
            if line.startswith("otpfob-has ")
        }

    def space(self):
        out = self.mp.exec("import os\ns=os.statvfs('/')\nprint('otpfob-free', s[1]*s[4], s[1])")
        m = re.search(r"otpfob-free (\d+) (\d+)", out)
        if not m:
            raise DeployError("could not read the free space on the board: %r" % out.strip())
        return int(m.group(1)), max(512, int(m.group(2)))

    def writable(self):
        return True

    def write(self, files):
        stage = self.work / "stage"
        for rel, data in files:
            p = stage / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        dirs = sorted(
            {str(PurePosixPath(rel).parent) for rel, _ in files} - {"."}, key=lambda d: d.count("/")
        )
        if dirs:
            self.mp.exec(
                "import os\nfor d in %r:\n try:\n  os.mkdir(d)\n except OSError:\n"
                "  pass\n" % (dirs,)
            )
        self.mp.run(*_chain([["fs", "cp", "-f", str(stage / rel), ":" + rel] for rel, _ in files]))

    def read_back(self, rels):
        back = [self._local() for _ in rels]
        self.mp.run(
            *_chain([["fs", "cp", ":" + rel, str(p)] for rel, p in zip(rels, back, strict=True)]),
            check=False,
        )
        return [_read_optional(p) for p in back]

    def remove(self, rels):
        self.mp.run("exec", _remote_remove(rels), check=False)

    def commit(self, aside, renames, stale):
        # FAT's rename will not replace an existing file, so the old one goes first.
        code = ["import os"]
        code.append(
            "for a in %r:\n try:\n  os.rename(a, a + '.disabled')\n except OSError:\n"
            "  pass" % (list(aside),)
        )
        code.append(
            "for a, b in %r:\n try:\n  os.remove(b)\n except OSError:\n  pass\n"
            " os.rename(a, b)" % (list(renames),)
        )
        code.append(
            "for b in %r:\n try:\n  os.remove(b)\n except OSError:\n  pass" % (list(stale),)
        )
        self.mp.exec("\n".join(code) + "\n")
        return list(stale)


def deploy_via_repl(
    port="auto",
    board=None,
    force=False,
    dry_run=False,
    use_mpy=True,
    firmware_dir=None,
    boards_dir=None,
    echo=print,
    mpremote=None,
    progress=None,
):
    """Install the firmware over the REPL with mpremote (the drive hidden or unusable)."""
    mp = mpremote or Mpremote(port)
    with tempfile.TemporaryDirectory(prefix="otpfob-repl-") as work:
        return install(
            ReplTarget(mp, work),
            board,
            force,
            dry_run,
            use_mpy,
            firmware_dir,
            boards_dir,
            echo,
            progress,
        )


def _spinner():
    """A spinner on stderr while a slow step runs, where stderr is a terminal; else None."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    return lambda text: console.status(text)


# --------------------------------------------------------------------------- command


@click.command("deploy")
@click.option("--board", help="Board file in boards/ (default: the Board ID in boot_out.txt).")
@click.option(
    "--drive",
    type=click.Path(file_okay=False, path_type=Path),
    help="The CIRCUITPY drive (default: found by its volume label).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--force", is_flag=True, help="Replace another project's code.py.")
@click.option("--via-repl", is_flag=True, help="Copy over the REPL with mpremote instead.")
@click.option(
    "--repl-port",
    default="auto",
    show_default=True,
    help="Serial port of the REPL for --via-repl (mpremote's `connect` argument).",
)
@click.option(
    "--py",
    "source_only",
    is_flag=True,
    help="Install the .py sources instead of the precompiled .mpy files.",
)
def deploy_command(board, drive, dry_run, force, via_repl, repl_port, source_only):
    """Copy the otpfob firmware onto a CircuitPython board."""
    try:
        if via_repl:
            deploy_via_repl(
                repl_port,
                board,
                force,
                dry_run,
                not source_only,
                echo=click.echo,
                progress=_spinner(),
            )
        else:
            deploy_to_drive(
                drive, board, force, dry_run, not source_only, echo=click.echo, progress=_spinner()
            )
    except DeployError as e:
        raise click.ClickException(str(e)) from e
