"""Build otpfob's wheel and sdist and install them into fresh virtualenvs, offline.

Shared by the packaging tests and ``bench.install``. The install requirements come from
a wheelhouse of the exact versions in requirements-host.txt (plus setuptools and pip,
for building in an isolated environment, and the pinned drivers), which ``make setup`` downloads once into
``.venv/wheelhouse``; every install after that uses ``--no-index``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
_STAMP = ".complete"


class PackagingError(RuntimeError):
    pass


def _run(argv, **kwargs):
    res = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if res.returncode != 0:
        raise PackagingError(
            "%s failed (exit %d):\n%s%s"
            % (
                " ".join(str(a) for a in argv),
                res.returncode,
                res.stdout[-3000:],
                res.stderr[-3000:],
            )
        )
    return res


def _build_pins():
    """The pins of what building otpfob needs (pyproject's [build-system] requires)."""
    out = [
        line.strip()
        for line in (REPO / "requirements-dev.txt").read_text().splitlines()
        if line.strip().startswith(("setuptools==", "pip=="))
    ]
    if len(out) != 2:
        raise PackagingError("requirements-dev.txt must pin setuptools and pip")
    return out


def wheelhouse(path=WHEELHOUSE):
    """The folder of wheels for an offline install, downloaded when missing: the locked
    install requirements, what building needs, and the pinned drivers (which a build
    from a checkout downloads)."""
    path = Path(path)
    stamp = path / _STAMP
    drivers = REPO / "requirements-drivers.txt"
    wanted = "\n".join(
        [(REPO / "requirements-host.txt").read_text(), drivers.read_text()] + _build_pins()
    )
    if stamp.is_file() and stamp.read_text() == wanted:
        return path
    path.mkdir(parents=True, exist_ok=True)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            str(path),
            "-r",
            str(REPO / "requirements-host.txt"),
        ]
        + _build_pins()
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(path),
            "-r",
            str(drivers),
        ]
    )
    stamp.write_text(wanted)
    return path


# What a source tree is made of, for a clean copy to build from.
SOURCE = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "THIRD_PARTY_NOTICES.md",
    "LICENSES",
    "requirements-host.txt",
    "requirements-dev.txt",
    "requirements-drivers.txt",
    "firmware",
    "boards",
    "host_tools",
    "web",
)


def copy_source(dest, repo=REPO):
    """The project's source files, without build leftovers or caches."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*", "bundled", "vendor")
    for name in SOURCE:
        src = Path(repo) / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    # The admin page's npm files (web/vendor.json), which a clean copy has no
    # node_modules/ for: they travel in its web/vendor/, as in the sdist.
    import json

    for name, rel in json.loads((dest / "web" / "vendor.json").read_text())["files"].items():
        (dest / "web" / "vendor").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(repo) / "node_modules" / rel, dest / "web" / "vendor" / name)
    return dest


def build(outdir, source=None):
    """Build the sdist, then the wheel from that sdist (``python -m build``), from a clean
    copy of the source unless `source` names a tree; returns (wheel, sdist) paths."""
    outdir = Path(outdir).resolve()
    if source is None:
        with tempfile.TemporaryDirectory(prefix="otpfob-src-") as tmp:
            return build(outdir, copy_source(Path(tmp) / "otpfob"))
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(source)])
    wheels = sorted(outdir.glob("otpfob-*.whl"))
    sdists = sorted(outdir.glob("otpfob-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise PackagingError(
            "expected one wheel and one sdist in %s, found %s"
            % (outdir, sorted(p.name for p in outdir.iterdir()))
        )
    return wheels[0], sdists[0]


def main(argv=None):
    """``python -m otpfob.testing.packaging OUT_DIR``: build the wheel and sdist there."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m otpfob.testing.packaging OUT_DIR", file=sys.stderr)
        return 2
    for p in build(argv[0]):
        print("%s (%.1f KiB)" % (p, p.stat().st_size / 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def clean_env():
    """This environment without what would let a subprocess see the checkout or this
    venv, and with pip's own configuration files ignored."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")
        and not k.startswith("PIP_")
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def fresh_venv(path):
    """A new virtualenv (without pip: this interpreter's pip installs into it)."""
    venv.EnvBuilder(with_pip=False, clear=True).create(str(path))
    return Path(path)


def bin_path(env_dir, name):
    sub = "Scripts" if sys.platform.startswith("win") else "bin"
    suffix = ".exe" if sys.platform.startswith("win") else ""
    return Path(env_dir) / sub / (name + suffix)


def install(env_dir, target):
    """pip-install `target` (a wheel, an sdist or a source folder) into the venv at
    `env_dir`, offline, from the wheelhouse. The build of an sdist or a folder runs in
    pip's isolated environment and sees the same offline settings."""
    env = clean_env()
    env["PIP_NO_INDEX"] = "1"
    env["PIP_FIND_LINKS"] = str(wheelhouse())
    return _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(bin_path(env_dir, "python")),
            "install",
            "--quiet",
            str(target),
        ],
        env=env,
    )
