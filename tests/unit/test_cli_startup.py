"""Start-up cost of the CLI: heavy modules load only in the commands that use them."""

import json
import subprocess
import sys
import textwrap

from click.testing import CliRunner

from otpfob.cli import LAZY_COMMANDS, main

HEAVY = (
    "rich",
    "serial",
    "PIL",
    "zxingcpp",
    "otpfob.sim",
    "otpfob.deploy",
    "otpfob.qr",
    "otpfob.migration",
    "fob",
)


def loaded_after(argv):
    """Top-level module names imported by running the CLI with argv in a fresh interpreter."""
    code = textwrap.dedent(
        """
        import json, sys
        from otpfob.cli import main
        try:
            main(%r, standalone_mode=False)
        except BaseException:
            pass
        sys.__stdout__.write("\\n" + json.dumps(sorted(sys.modules)))
    """
        % (argv,)
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def _heavy(mods):
    return sorted(m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_help_imports_nothing_heavy():
    assert _heavy(loaded_after(["--help"])) == []


def test_command_help_imports_nothing_heavy():
    for cmd in ("add", "import", "list", "code", "time"):
        assert _heavy(loaded_after([cmd, "--help"])) == [], cmd


def test_help_lists_lazy_commands_without_loading_them():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in LAZY_COMMANDS:
        assert name in result.stdout
    for name in (
        "info",
        "list",
        "add",
        "import",
        "code",
        "delete",
        "rename",
        "time",
        "reset",
        "selftest",
    ):
        assert "  %s " % name in result.stdout


def test_sim_command_is_loaded_when_invoked():
    mods = loaded_after(["sim", "--help"])
    assert "otpfob.sim.command" in mods and "otpfob.deploy" not in mods


def test_deploy_command_is_loaded_when_invoked():
    mods = loaded_after(["deploy", "--help"])
    assert "otpfob.deploy" in mods and "otpfob.sim.command" not in mods
