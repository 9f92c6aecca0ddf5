"""What goes where: the plan of a deploy, worked out before anything is written.

The files (``boot.py``, ``code.py``, the board file as ``fob_board.py``, the firmware
package ``lib/fob/`` and the Adafruit drivers it needs, in the exact versions the tests
use: pinned in requirements-drivers.txt, carried by an installed otpfob, see resources.py),
lib/ as .mpy files for the board's CircuitPython major unless --py asks for source; the
drive's settings.toml merged with ours; who owns the code.py already there; which old
files go stale; the space it all needs; and the check of what was read back.
Nothing here touches a board: the flow (flow.py) reads and writes through a target.
"""

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from .. import resources
from .discovery import BootInfo, DeployError, find_mpy_cross

# The repository's folders in a checkout, the package's own copies in an installed wheel.
FIRMWARE_DIR = resources.firmware_dir()
BOARDS_DIR = resources.boards_dir()
MANIFEST = ".otpfob"
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
SETTINGS = "settings.toml"
_SETTINGS_NOTE = "# otpfob's settings (see its firmware/settings.toml)"


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


def choose_board(info, board, boards_dir):
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
    from .. import mpyfiles

    found, reason = mpyfiles.committed(major, firmware_dir)
    if found is not None:
        return found, None
    mpy, why = (find or find_mpy_cross)(major)
    if mpy is not None:
        return mpy, None
    return None, "%s, and %s" % (reason, why)


def compiler_for(info, use_mpy, firmware_dir=None):
    if not use_mpy:
        return None, "--py asked for source files"
    return compiler(info.version[0], firmware_dir)


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
    from ..mpyfiles import FOLDER

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


def keep_settings(plan, theirs):
    # A settings.toml already on the drive keeps its other settings (Wi-Fi, web workflow).
    for i, item in enumerate(plan.items):
        if item.dest == SETTINGS and theirs is not None and theirs != item.data:
            plan.items[i] = PlanItem(SETTINGS, merge_settings(item.data, theirs), item.source)


def load_manifest(data):
    if not data:
        return None
    try:
        m = json.loads(data)
    except ValueError:
        return None
    return m if isinstance(m, dict) and m.get("tool") == "otpfob" else None


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


def other_forms(plan, old_manifest):
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


def _safe_rel(dest):
    p = PurePosixPath(dest)
    return not p.is_absolute() and ".." not in p.parts and dest != MANIFEST


def needed_space(plan, cluster):
    def rounded(n):
        return -(-n // cluster) * cluster

    dirs = {str(PurePosixPath(i.dest).parent) for i in plan.items}
    # Every file is staged beside the one it replaces, so the whole new set must fit at
    # once; directory entries and the manifest take a few clusters more.
    return sum(rounded(len(i.data)) for i in plan.items) + cluster * (len(dirs) + 4)


def check_copy(items, copies):
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
