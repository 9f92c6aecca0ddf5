"""Tier 3: every firmware and board file compiles with the mpy-cross of each target.

mpy-cross-multi ships MicroPython's compilers per .mpy ABI; the ones that matter here:
  v5    CircuitPython 8.x (its mpy-cross reports "mpy v5-CircuitPython"; MicroPython
        1.12-1.18 share the v5 grammar), so 8.x-era syntax limits are caught
  v6.1  CircuitPython 9.x ("mpy v6.1"), MicroPython 1.20-1.21
  v6.2  MicroPython 1.22
  v6.3  CircuitPython 10.x and MicroPython 1.23 and newer
Files are found when the tests are collected, so new firmware is covered automatically.
"""

import importlib
from pathlib import Path

import pytest
from mpy_cross_multi import mp_version_to_mpy_abi_version
from semver.version import Version

REPO = Path(__file__).resolve().parents[1]
ROOTS = (REPO / "firmware", REPO / "boards")

# MicroPython release standing for each target, mapped to its ABI by mpy-cross-multi.
TARGETS = {
    "cp8-mpy5": "1.18",
    "cp9-mpy6.1": "1.21",
    "mp1.22-mpy6.2": "1.22",
    "cp10-mpy6.3": "1.25",
}


def _files():
    found = []
    for root in ROOTS:
        if root.is_dir():
            found.extend(sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts))
    return found


FILES = _files()


def _compiler(mp_version):
    abi = mp_version_to_mpy_abi_version(Version.parse(mp_version, optional_minor_and_patch=True))
    return importlib.import_module("mpy_cross_v" + abi.replace(".", "_"))


def test_there_are_firmware_files_to_check():
    assert any(p.is_relative_to(REPO / "firmware") for p in FILES)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(REPO)) for p in FILES])
def test_compiles_with_mpy_cross(path, target):
    compiler = _compiler(TARGETS[target])
    rel = str(path.relative_to(REPO))
    proc, mpy = compiler.mpy_cross_compile(rel, path.read_text())
    assert proc.returncode == 0 and mpy, "%s does not compile for %s:\n%s" % (
        rel,
        target,
        proc.stderr.decode(errors="replace"),
    )


def test_compilers_are_the_expected_abi_versions():
    expected = {
        "cp8-mpy5": "mpy v5",
        "cp9-mpy6.1": "mpy v6.1",
        "mp1.22-mpy6.2": "mpy v6.2",
        "cp10-mpy6.3": "mpy v6.3",
    }
    for target, mp_version in TARGETS.items():
        assert _compiler(mp_version).mpy_cross_version().endswith(expected[target])
