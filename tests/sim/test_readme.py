"""The README's simulator walk-through, run as written, so the README cannot rot.

Every fenced block preceded by `<!-- readme-test: sim -->` is run line by line against a
headless simulator; the address in the README's `export OTPFOB_PORT=...` is replaced by the
simulator's real (free) port, and every command must exit 0.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from otpfob.sim.harness import SimProcess

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
# A block marked "sim" runs from an empty folder (as after `pipx install otpfob`); one
# marked "sim-clone" uses the repository's sample files, so it runs from the checkout.
MARK = re.compile(r"<!-- readme-test: (sim|sim-clone) -->\s*```[a-z]*\n(.*?)```", re.S)


def readme_sim_commands():
    """[(where, line)] of the marked blocks in order; where is "sim" or "sim-clone"."""
    commands = []
    for match in MARK.finditer(README.read_text()):
        for line in match.group(2).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append((match.group(1), line))
    return commands


def test_the_readme_has_a_simulator_walk_through():
    commands = readme_sim_commands()
    assert commands[0] == ("sim", "export OTPFOB_PORT=socket://127.0.0.1:7701")
    assert sum(c.startswith("otpfob ") for w, c in commands if w == "sim") >= 8
    # What runs from any folder names no file of the repository.
    for where, line in commands:
        if where == "sim":
            assert "docs/" not in line and "examples" not in line, line


def test_every_readme_command_runs_against_the_simulator(tmp_path):
    commands = readme_sim_commands()
    otpfob = str(Path(sys.executable).with_name("otpfob"))
    anywhere = tmp_path / "anywhere"
    anywhere.mkdir()
    # As the README starts it: with --autopress answering the fob's press prompts.
    with SimProcess(tmp_path / "state", demo=True, autopress=True) as fob:
        env = dict(os.environ)
        for where, line in commands:
            words = shlex.split(line)
            if words[0] == "export":
                name, _, _ = words[1].partition("=")
                env[name] = fob.data_url
                continue
            assert words[0] == "otpfob", "the README block may hold only otpfob commands"
            proc = subprocess.run(
                [otpfob] + words[1:],
                cwd=REPO if where == "sim-clone" else anywhere,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            assert proc.returncode == 0, "%s\n%s%s" % (line, proc.stdout, proc.stderr)
            if words[1:2] == ["list"]:
                # The demo account, the URI and the import.
                for label in ("demo@example.com", "alice@example.com", "dave"):
                    assert label in proc.stdout
        listing = subprocess.run(
            [otpfob, "--json", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    assert "alice@work.example" in listing  # renamed
    # The QR code's and the sample file's accounts, the one already there skipped.
    for label in ("bob@example.com", "carol@example.com", "dave"):
        assert label in listing
    assert listing.count('"dave"') == 1
    assert "erin" not in listing  # imported, then deleted


@pytest.mark.parametrize("path", ["docs/img/example-qr.png", "docs/examples/accounts.txt"])
def test_the_files_the_readme_uses_exist(path):
    assert (REPO / path).is_file()
