"""The firmware and its drivers precompiled to .mpy, one tree per CircuitPython major.

    firmware/mpy/cp8/lib/fob/otp.mpy ...      compiled by CircuitPython 8.2.6's mpy-cross
    firmware/mpy/cp9/lib/...                  9.2.8's
    firmware/mpy/cp10/lib/...                 10.2.1's
    firmware/mpy/manifest.json                what each file was built from

A board imports an .mpy without compiling it: no parse tree on the heap at import time and
no seconds of compiling after every deep-sleep wake. CircuitPython refuses MicroPython's
.mpy files and no CircuitPython mpy-cross is published on PyPI or npm, so the compiled
files are kept in the repository with a manifest: per source file (the firmware's own and
each pinned Adafruit driver's) its SHA-256, and per major the SHA-256 of the .mpy and the
compiler's `--version` line. `check()` (run by the tests) names every source that no
longer matches what its .mpy was built from; `make mpy` rebuilds them all with
`mpy-cross-cp8`, `mpy-cross-cp9` and `mpy-cross-cp10` from PATH:

    python -m otpfob.mpyfiles build      (make mpy)
    python -m otpfob.mpyfiles check

`otpfob deploy` and the CIRCUITPY bundle take these files for a board's major (see
`committed()`), and fall back to source when they are stale.
"""

import hashlib
import json
import sys
from pathlib import Path, PurePosixPath

MAJORS = (8, 9, 10)
FOLDER = "mpy"  # under the firmware folder; never copied onto a drive as it is
MANIFEST = "manifest.json"
REBUILD = "make mpy  (mpy-cross-cp8, mpy-cross-cp9 and mpy-cross-cp10 on PATH)"
# The first two bytes of a CircuitPython .mpy: 'C' and the .mpy version of the major.
HEADER = {8: b"C\x05", 9: b"C\x06", 10: b"C\x06"}


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def root(firmware_dir=None):
    from .deploy import plan

    return Path(firmware_dir or plan.FIRMWARE_DIR) / FOLDER


def sources(firmware_dir=None):
    """[(drive path of the .py, source Path, where it comes from)] of every file a deploy
    compiles: the firmware's lib/ and the pinned drivers' files."""
    from . import resources
    from .deploy import plan

    firmware_dir = Path(firmware_dir or plan.FIRMWARE_DIR)
    out = []
    for p in plan.firmware_files(firmware_dir):
        dest = p.relative_to(firmware_dir).as_posix()
        if dest.endswith(".py") and dest not in plan.KEEP_SOURCE:
            out.append((dest, p, "firmware/" + dest))
    versions = {}
    for name, (version, tops) in resources.driver_distributions().items():
        for top in tops:
            versions[top] = "%s %s" % (name, version)
    for dest, p in plan.library_sources():
        top = PurePosixPath(dest).parts[1].removesuffix(".py")
        out.append((dest, p, versions.get(top, top)))
    return out


def mpy_path(dest):
    return dest[:-3] + ".mpy"


def load_manifest(firmware_dir=None):
    try:
        return json.loads((root(firmware_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


class Committed:
    """The committed .mpy files of one CircuitPython major, used like an mpy-cross: they
    are only handed out for the exact source bytes they were built from."""

    def __init__(self, major, folder, manifest):
        self.major = major
        self.folder = Path(folder)
        self.files = manifest["files"]
        self.version_line = manifest["compilers"][str(major)]
        self.path = "%s/cp%d (committed)" % (FOLDER, major)

    def compile(self, source, name, workdir=None, dest=None):
        entry = self.files.get(dest)
        if entry is None or entry["sha256"] != _sha(source):
            from .deploy import DeployError

            raise DeployError("%s has no committed .mpy for these sources; %s" % (dest, REBUILD))
        return (self.folder / ("cp%d" % self.major) / mpy_path(dest)).read_bytes()


def committed(major, firmware_dir=None):
    """(Committed, None) when every file a deploy compiles has a current .mpy for CircuitPython
    `major`; else (None, why not)."""
    manifest = load_manifest(firmware_dir)
    if manifest is None or str(major) not in manifest.get("compilers", {}):
        return None, "no committed .mpy files for CircuitPython %d.x" % major
    problems = check(firmware_dir, majors=(major,), manifest=manifest)
    if problems:
        return None, "the committed .mpy files for CircuitPython %d.x are stale (%s)" % (
            major,
            problems[0],
        )
    return Committed(major, root(firmware_dir), manifest), None


def check(firmware_dir=None, majors=MAJORS, manifest=None):
    """What does not match: one line per problem, naming the file and the command that
    mends it. Empty when every .mpy was built from today's sources."""
    folder = root(firmware_dir)
    manifest = manifest or load_manifest(firmware_dir)
    if manifest is None:
        return ["%s is missing or unreadable: run %s" % (folder / MANIFEST, REBUILD)]
    files = manifest.get("files", {})
    problems = []
    wanted = {}
    for dest, path, origin in sources(firmware_dir):
        wanted[dest] = True
        entry = files.get(dest)
        if entry is None:
            problems.append("%s (%s) has no .mpy: run %s" % (dest, origin, REBUILD))
            continue
        if entry["sha256"] != _sha(path.read_bytes()):
            problems.append(
                "%s (%s) changed since its .mpy files were built: run %s" % (dest, origin, REBUILD)
            )
            continue
        for major in majors:
            mpy = folder / ("cp%d" % major) / mpy_path(dest)
            want = entry.get("mpy", {}).get(str(major))
            try:
                data = mpy.read_bytes()
            except OSError:
                problems.append("%s is missing: run %s" % (mpy, REBUILD))
                continue
            if want != _sha(data) or not data.startswith(HEADER[major]):
                problems.append("%s is not the file the manifest records: run %s" % (mpy, REBUILD))
    for dest in sorted(set(files) - set(wanted)):
        problems.append(
            "%s is in %s but no longer deployed: run %s" % (dest, folder / MANIFEST, REBUILD)
        )
    for major in majors:
        for p in sorted((folder / ("cp%d" % major)).rglob("*.mpy")):
            dest = p.relative_to(folder / ("cp%d" % major)).as_posix()[:-4] + ".py"
            if dest not in wanted:
                problems.append("%s has no source any more: run %s" % (p, REBUILD))
    return problems


def build(firmware_dir=None, majors=MAJORS, find=None, echo=print):
    """Compile every source with each major's CircuitPython mpy-cross (from PATH) into
    firmware/mpy/cpN/ and write the manifest. Raises DeployError without a compiler."""
    import shutil
    import tempfile

    from . import deploy

    find = find or deploy.find_mpy_cross
    compilers = {}
    for major in majors:
        mpy, reason = find(major)
        if mpy is None:
            raise deploy.DeployError(
                "%s: put mpy-cross-cp%d on PATH (built from the "
                "mpy-cross/ folder of CircuitPython %d.x)" % (reason, major, major)
            )
        compilers[major] = mpy
    folder = root(firmware_dir)
    files = {}
    with tempfile.TemporaryDirectory(prefix="otpfob-mpy-") as work:
        staged = Path(work) / "out"
        for dest, path, origin in sources(firmware_dir):
            data = path.read_bytes()
            entry = {"from": origin, "sha256": _sha(data), "mpy": {}}
            for major, mpy in compilers.items():
                out = mpy.compile(data, PurePosixPath(dest).name, work)
                target = staged / ("cp%d" % major) / mpy_path(dest)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(out)
                entry["mpy"][str(major)] = _sha(out)
            files[dest] = entry
        for major in compilers:
            shutil.rmtree(folder / ("cp%d" % major), ignore_errors=True)
            shutil.copytree(staged / ("cp%d" % major), folder / ("cp%d" % major))
    manifest = {
        "about": "Written by `python -m otpfob.mpyfiles build` (make mpy); see "
        "host_tools/otpfob/mpyfiles.py. Do not edit.",
        "compilers": {str(m): c.version_line for m, c in compilers.items()},
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    echo(
        "%d sources compiled for CircuitPython %s into %s"
        % (len(files), ", ".join("%d.x" % m for m in compilers), folder)
    )
    return manifest


def main(argv=None):
    from .deploy import DeployError

    argv = sys.argv[1:] if argv is None else argv
    if argv == ["build"]:
        try:
            build()
        except DeployError as e:
            print("otpfob mpy: error: %s" % e, file=sys.stderr)
            return 1
        return 0
    if argv == ["check"]:
        problems = check()
        for p in problems:
            print(p, file=sys.stderr)
        print("%d problem(s)" % len(problems) if problems else "every .mpy is current")
        return 1 if problems else 0
    print("usage: python -m otpfob.mpyfiles build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
