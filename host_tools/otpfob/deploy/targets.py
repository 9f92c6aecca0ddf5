"""Where a deploy writes: a target only reads, lists, writes, reads back, renames and
removes files; everything else is the flow's (flow.py).

- ``DriveTarget``: a mounted CIRCUITPY drive, plain file operations on a folder;
- ``ReplTarget``: the board's flash through its REPL with ``mpremote`` (the ``repl``
  extra), for a fob whose drive is hidden.

``Target`` is the interface both have (a test's in-memory board has it too).
"""

import errno
import os
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Protocol

from .discovery import MAINTENANCE_HINT, MPREMOTE_MISSING, DeployError, find_mpremote


class Target(Protocol):
    """What the flow needs of a board: paths are posix, relative to the board's root."""

    name: str  # the drive or port, for messages
    label: str  # "drive: /media/..." / "REPL: ...", printed before the plan
    where: str  # "on /media/..." / "over the REPL", ending the flow's lines

    def no_boot_out(self) -> DeployError:
        """The error for a board without boot_out.txt."""

    def read_only(self) -> DeployError:
        """The error for a board this computer cannot write."""

    def read(self, rel: str) -> bytes | None:
        """A file's bytes, or None when it is not there."""

    def existing(self, rels: list[str]) -> set[str]:
        """Which of `rels` are files on the board."""

    def space(self) -> tuple[int, int]:
        """(free bytes, cluster size)."""

    def writable(self) -> bool: ...

    def write(self, files: list[tuple[str, bytes]]) -> None:
        """Write each (path, bytes); on a failure remove what it wrote and raise."""

    def read_back(self, rels: list[str]) -> list[bytes | OSError | None]:
        """Each file's bytes as the board gives them back (an OSError, None: unreadable)."""

    def remove(self, rels: list[str]) -> None:
        """Remove each file that is there; never raises."""

    def commit(
        self, aside: list[str], renames: list[tuple[str, str]], stale: list[str]
    ) -> list[str]:
        """Move `aside` to NAME.disabled, rename each staged file over its destination,
        remove `stale`; returns the stale files removed."""


def _read_optional(path):
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


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
