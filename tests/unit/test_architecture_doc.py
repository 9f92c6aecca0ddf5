"""docs/architecture.md describes what is there: every firmware module, every key a board
file sets, every host module and every command of the simulator's control port. A module
or key added without its line on that page fails here, naming it."""

import ast
import re
from pathlib import Path

from otpfob.sim import control

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "architecture.md").read_text()


def section(title):
    """The text of the page's `## title` section, up to the next one."""
    match = re.search(r"^## %s.*?$(.*?)(?=^## |\Z)" % re.escape(title), DOC, re.M | re.S)
    assert match, "docs/architecture.md has no section %r" % title
    return match.group(1)


def named(text, name):
    return re.search(r"(?<![\w.])%s(?![\w])" % re.escape(name), text) is not None


def test_every_firmware_module_is_in_the_module_map():
    firmware = section("Firmware")
    modules = sorted(p.name for p in (REPO / "firmware" / "lib" / "fob").glob("*.py"))
    assert "app.py" in modules and "vault.py" in modules
    missing = [m for m in modules if not named(firmware, m)]
    assert not missing, "not described in docs/architecture.md's firmware map: %s" % missing
    for top in ("boot.py", "code.py"):
        assert named(firmware, top)


def test_every_board_file_key_is_described():
    keys = set()
    for board in sorted((REPO / "boards").glob("*.py")):
        for node in ast.parse(board.read_text()).body:
            if isinstance(node, ast.Assign):
                keys.update(t.id for t in node.targets if isinstance(t, ast.Name))
    assert {"BUTTONS", "DISPLAY_HEIGHT", "I2C_SCL"} <= keys
    firmware = section("Firmware")
    missing = sorted(k for k in keys if not named(firmware, k))
    assert not missing, "board file keys not described in docs/architecture.md: %s" % missing


def test_every_host_module_is_in_the_host_map():
    host = section("Host")
    package = REPO / "host_tools" / "otpfob"
    files = [
        p
        for p in sorted(package.rglob("*"))
        if p.suffix in (".py", ".mjs") and "bundled" not in p.parts and "__pycache__" not in p.parts
    ]
    assert len(files) > 60
    missing = [str(p.relative_to(package)) for p in files if not named(host, p.name)]
    assert not missing, "not described in docs/architecture.md's host map: %s" % missing
    # Every folder of the package too.
    for folder in sorted({p.parent for p in files} - {package}):
        assert named(host, folder.name + "/"), folder


def test_every_control_port_command_is_in_the_simulator_section():
    sim = section("The simulator")
    # HELP is "commands: press BUTTON | hold BUTTON SECONDS | ... | answer yes|no | ...".
    listed = control.HELP.split(":", 1)[1].split(" | ")
    commands = sorted({part.strip().split()[0] for part in listed})
    assert {"press", "hold", "status", "i2c-fault", "answer"} <= set(commands)
    missing = [c for c in commands if "`%s" % c not in sim]
    assert not missing, "control port commands not in docs/architecture.md: %s" % missing


def test_the_loops_parts_are_the_ones_app_guards():
    # "Staying up" names each part app.App.step() runs guarded, as its console lines
    # name them ("Screen error: ...").
    source = (REPO / "firmware" / "lib" / "fob" / "app.py").read_text()
    step = source[source.index("    def step(self):") :]
    step = step[: step.index("\n    def ", 10)]
    parts = re.findall(r'self\._failed\("([A-Za-z ]+)"', step)
    assert len(parts) >= 3
    staying_up = section("Staying up").lower()
    assert re.search(r"runs its %s parts" % _word(len(parts)), staying_up), parts
    for part in parts:
        assert part.lower() in staying_up, part


def _word(n):
    return ("zero one two three four five six seven eight nine ten").split()[n]
