"""The project's own set-up files hold what CONTRIBUTING.md says: CI lints before it
tests, with pinned tools, the pre-commit hooks run the same checks, and the Makefile says
what it installs before each apt-get or npm step."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAKEFILE = (REPO / "Makefile").read_text()


def test_ci_runs_the_lint_before_the_tests_and_the_real_circuitpython_tier_last():
    steps = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "make lint" in steps and "make test" in steps and "make test-realcp" in steps
    assert steps.index("make lint") < steps.index("make test") < steps.index("make test-realcp")


def test_the_lint_tools_are_pinned_and_make_lint_runs_each():
    pins = (REPO / "requirements-dev.txt").read_text()
    for tool in ("ruff", "mypy"):
        assert re.search(r"^%s==\d" % tool, pins, re.M), tool
    lint = MAKEFILE[MAKEFILE.index("\nlint:") :].split("\n\n")[0]
    for command in ("ruff check", "ruff format --check", "mypy", "otpfob.wiring --check"):
        assert command in lint, command


def test_pre_commit_runs_the_same_checks_with_the_pinned_tools():
    config = (REPO / ".pre-commit-config.yaml").read_text()
    for entry in (
        ".venv/bin/ruff check",
        ".venv/bin/ruff format --check",
        ".venv/bin/mypy",
        ".venv/bin/python -m otpfob.wiring --check",
    ):
        assert "entry: " + entry in config, entry


def test_every_apt_get_or_npm_install_is_announced_with_the_package_and_why():
    recipe_lines = [line for line in MAKEFILE.splitlines() if line.startswith("\t")]
    # apt-get runs only inside the announcing macro and the real-CircuitPython set-up,
    # each of which echoes "make: installing PACKAGE ..." first.
    define = MAKEFILE[MAKEFILE.index("define apt_install") : MAKEFILE.index("endef")]
    assert define.index('echo "make: installing $(1)') < define.index("apt-get install")
    calls = re.findall(r"^\t\$\(call apt_install,([^,]+),([^,]+),", MAKEFILE, re.M)
    assert len(calls) >= 4
    for call in calls:
        package, why = (x.strip() for x in call)
        assert package and len(why.split()) >= 3, call
    outside = [
        line
        for line in recipe_lines
        if "apt-get install" in line and line not in define and "$$pkg" not in line
    ]
    assert not outside, outside
    realcp = MAKEFILE[MAKEFILE.index("realcp-setup:") :]
    assert realcp.index('echo "make: installing $$pkg') < realcp.index("apt-get install")
    npm = MAKEFILE[MAKEFILE.index("$(NODE_STAMP):") :]
    assert npm.index("make: installing npm packages") < npm.index("npm ci")
