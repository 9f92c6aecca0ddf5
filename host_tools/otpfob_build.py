"""Build hook: puts the firmware, the board files and the pinned Adafruit drivers into the
package as ``otpfob/bundled/`` (see otpfob/resources.py), so an installed otpfob has
everything `otpfob sim`, `otpfob deploy` and the code check need.

Named in pyproject.toml's [tool.setuptools.cmdclass]; not part of the installed package.

- ``sdist`` adds ``drivers/`` to the source archive: the driver files gathered from the
  pins in requirements-drivers.txt, so a wheel built from the sdist needs no network.
- ``build_py`` copies ``firmware/``, ``boards/`` and the drivers (the sdist's ``drivers/``,
  or else gathered now) into the build tree's ``otpfob/bundled/``. An editable install
  skips it: a checkout uses its own folders.

The drivers are gathered from the pinned distributions: taken from the build environment
when exactly that version is installed there (``make dist``), otherwise downloaded as
wheels with ``pip download`` (which honours pip's configuration, e.g. PIP_FIND_LINKS and
PIP_NO_INDEX for an offline build). Nothing gathered is ever written into the checkout.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parents[1]
PINS_FILE = "requirements-drivers.txt"
SOURCE_DRIVERS = "drivers"  # in the sdist only
BUNDLE_DIRS = ("firmware", "boards", "web")
# The admin page's npm files (web/vendor.json names them), copied from node_modules into
# web/vendor/ of the wheel and the sdist.
WEB_VENDOR = "web/vendor.json"
# Only these pinned distributions travel; typing_extensions is an ordinary install
# requirement of otpfob instead.
BUNDLED_PREFIX = "adafruit-circuitpython-"
# otpfob's licence and the notices of what it redistributes (the drivers, the page's npm
# files, the font), copied into otpfob/bundled/ as they are in the source tree; the zip of
# CIRCUITPY folders takes them from there (otpfob.resources.notice_files).
NOTICE_FILES = ("LICENSE", "THIRD_PARTY_NOTICES.md", "LICENSES/Apache-2.0.txt")


class BuildError(Exception):
    pass


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(root=ROOT):
    """[(distribution, version)] of the drivers that travel with otpfob."""
    out = []
    for line in (Path(root) / PINS_FILE).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!-]+)", line)
        if not m:
            raise BuildError("%s: %r is not an exact pin (name==version)" % (PINS_FILE, line))
        if _canonical(m.group(1)).startswith(BUNDLED_PREFIX):
            out.append((m.group(1), m.group(2)))
    return out


def _wanted(rel):
    p = PurePosixPath(rel)
    return (
        p.suffix == ".py"
        and not p.parts[0].endswith((".dist-info", ".data"))
        and "__pycache__" not in p.parts
        and ".." not in p.parts
        and not p.is_absolute()
    )


def _installed_files(name, version):
    """{relative path: bytes} of the installed distribution, if it is exactly `version`."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != version:
        return None
    out = {}
    for f in dist.files or ():
        rel = PurePosixPath(*f.parts).as_posix()
        if _wanted(rel):
            out[rel] = Path(dist.locate_file(f)).read_bytes()
    return out or None


def _downloaded_files(name, version, work):
    dest = Path(work) / _canonical(name)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--dest",
        str(dest),
        "%s==%s" % (name, version),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if res.returncode != 0 or not wheels:
        raise BuildError(
            "could not get %s==%s for the package's drivers (pip download: %s)"
            % (name, version, (res.stderr or res.stdout).strip()[-500:])
        )
    out = {}
    with zipfile.ZipFile(wheels[0]) as z:
        for rel in z.namelist():
            if _wanted(rel):
                out[rel] = z.read(rel)
    return out


def gather_drivers(dest, root=ROOT):
    """Write the pinned drivers' files under `dest` (a CIRCUITPY lib/ layout) and
    drivers.json naming each distribution's version and files."""
    dest = Path(dest)
    record = {"versions": {}, "files": {}}
    with tempfile.TemporaryDirectory(prefix="otpfob-drivers-") as work:
        for name, version in pins(root):
            files = _installed_files(name, version)
            if files is None:
                files = _downloaded_files(name, version, work)
            if not files:
                raise BuildError("%s==%s holds no Python files" % (name, version))
            record["versions"][name] = version
            record["files"][name] = sorted(files)
            for rel, data in files.items():
                p = dest / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
    (dest / "drivers.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


# GNU Unifont for the label strips (otpfob/labels.py), as Debian's fonts-unifont installs
# it, and its licence: the copyright file names GPL-2+, whose text travels along.
FONT_SOURCE = Path("/usr/share/fonts/opentype/unifont")
FONT_FILES = ("unifont.otf", "unifont_upper.otf")
FONT_LICENCE = (
    ("COPYRIGHT", Path("/usr/share/doc/fonts-unifont/copyright")),
    ("GPL-2", Path("/usr/share/common-licenses/GPL-2")),
)
SOURCE_FONTS = "fonts"  # in the sdist only


def gather_fonts(dest, root=ROOT):
    """Copy the font and its licence into `dest` from an sdist's fonts/ or from Debian's
    fonts-unifont; returns False (nothing copied) when neither has it."""
    dest = Path(dest)
    here = Path(root) / SOURCE_FONTS
    sources = [(n, here / n) for n in FONT_FILES + ("COPYRIGHT", "GPL-2")]
    if not all(p.is_file() for _, p in sources[:3]):
        sources = [(n, FONT_SOURCE / n) for n in FONT_FILES] + list(FONT_LICENCE)
    if not all(p.is_file() for _, p in sources[:3]):
        return False
    dest.mkdir(parents=True, exist_ok=True)
    for name, src in sources:
        if src.is_file():
            shutil.copyfile(src, dest / name)
    return True


def _copy_tree(src, dst):
    shutil.copytree(
        src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    )


def write_bundle(package_dir, root=ROOT):
    """Fill ``<package_dir>/bundled`` from the source tree at `root`."""
    root = Path(root)
    out = Path(package_dir) / "bundled"
    if out.exists():
        shutil.rmtree(out)
    for name in BUNDLE_DIRS:
        if not (root / name).is_dir():
            raise BuildError("the source tree has no %s/ (looked in %s)" % (name, root))
        _copy_tree(root / name, out / name)
    if not (out / "firmware" / "code.py").is_file():
        raise BuildError("firmware/code.py is missing from %s" % root)
    for rel in NOTICE_FILES:
        if not (root / rel).is_file():
            raise BuildError("%s is missing from %s: the package must carry it" % (rel, root))
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, out / rel)
    gather_web_vendor(out / "web", root)
    if (root / SOURCE_DRIVERS / "drivers.json").is_file():
        _copy_tree(root / SOURCE_DRIVERS, out / "drivers")
        shutil.copy2(root / SOURCE_DRIVERS / "drivers.json", out / "drivers" / "drivers.json")
    else:
        gather_drivers(out / "drivers", root)
    # Without it the installed otpfob looks for the system's (otpfob.labels.fonts_dir).
    gather_fonts(out / "fonts", root)
    return out


def gather_web_vendor(web, root=ROOT):
    """Copy the page's npm files into ``web/vendor/`` where they are not there yet (an
    sdist carries them; a checkout has them in node_modules after ``npm ci``)."""
    web = Path(web)
    names = json.loads((Path(root) / WEB_VENDOR).read_text())["files"]
    for name, rel in names.items():
        dest = web / "vendor" / name
        if dest.is_file():
            continue
        src = Path(root) / "node_modules" / rel
        if not src.is_file():
            raise BuildError(
                "the admin page's %s is missing: run `npm ci` (make setup) before building" % rel
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)


def _files_under(folder):
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def _root():
    # setuptools runs every command in the tree it builds: the checkout, or the unpacked
    # sdist (this module may be imported from elsewhere, e.g. a checkout's editable path).
    return Path(os.getcwd())


class BuildPy(build_py):
    """build_py that adds otpfob/bundled/ to the build tree (not in editable mode)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        out = write_bundle(Path(self.build_lib) / "otpfob", _root())
        self.announce("otpfob: bundled %d files into %s" % (len(_files_under(out)), out), 2)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        bundle = Path(self.build_lib) / "otpfob" / "bundled"
        if bundle.is_dir():
            outputs += [str(p) for p in _files_under(bundle)]
        return outputs


def source_extras(root):
    """Files the sdist needs beyond the package: firmware/, boards/, the driver pins and
    this hook (relative posix paths)."""
    root = Path(root)
    out = []
    for name in BUNDLE_DIRS:
        for p in _files_under(root / name):
            rel = p.relative_to(root)
            if (
                "__pycache__" not in rel.parts
                and p.suffix != ".pyc"
                and not any(x.startswith(".") for x in rel.parts)
            ):
                out.append(rel.as_posix())
    out.append(PINS_FILE)
    out += list(NOTICE_FILES)
    out.append("host_tools/" + Path(__file__).name)
    return out


class Sdist(sdist):
    """sdist with what the wheel is built from (firmware/, boards/, the driver pins, this
    hook) and the gathered drivers, so building a wheel from it needs no network."""

    def make_release_tree(self, base_dir, files):
        root = _root()
        files = list(files) + [f for f in source_extras(root) if f not in files]
        super().make_release_tree(base_dir, files)
        gather_drivers(Path(base_dir) / SOURCE_DRIVERS, root)
        gather_web_vendor(Path(base_dir) / "web", root)
        gather_fonts(Path(base_dir) / SOURCE_FONTS, root)
