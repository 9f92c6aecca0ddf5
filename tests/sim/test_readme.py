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
MARK = "<!-- readme-test: sim -->"


def readme_sim_commands():
    text = README.read_text()
    commands = []
    for match in re.finditer(re.escape(MARK) + r"\s*```[a-z]*\n(.*?)```", text, re.S):
        for line in match.group(1).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def test_the_readme_has_a_simulator_walk_through():
    commands = readme_sim_commands()
    assert commands[0].startswith("export OTPFOB_PORT=socket://")
    assert sum(c.startswith("otpfob ") for c in commands) >= 8


def test_every_readme_command_runs_against_the_simulator(tmp_path):
    commands = readme_sim_commands()
    otpfob = str(Path(sys.executable).with_name("otpfob"))
    # As the README starts it: with --autopress answering the fob's press prompts.
    with SimProcess(tmp_path / "state", demo=True, autopress=True) as fob:
        env = dict(os.environ)
        for line in commands:
            words = shlex.split(line)
            if words[0] == "export":
                name, _, _ = words[1].partition("=")
                env[name] = fob.data_url
                continue
            assert words[0] == "otpfob", "the README block may hold only otpfob commands"
            proc = subprocess.run(
                [otpfob] + words[1:],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            assert proc.returncode == 0, "%s\n%s%s" % (line, proc.stdout, proc.stderr)
            if words[1:2] == ["list"]:
                # Demo account + URI + QR + three from the text file.
                for label in (
                    "demo@example.com",
                    "alice@example.com",
                    "bob@example.com",
                    "carol@example.com",
                    "dave",
                    "erin",
                ):
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
    assert "erin" not in listing  # deleted


@pytest.mark.parametrize("path", ["docs/img/example-qr.png", "docs/examples/accounts.txt"])
def test_the_files_the_readme_uses_exist(path):
    assert (REPO / path).is_file()
