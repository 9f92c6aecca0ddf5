"""The host package's modules use each other's public names only: a module that reaches
into another's `_private` names (by `from x import _y` or `x._y` on an imported module)
breaks when that module is reorganised, as deploy/ and fleet/ were."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "host_tools" / "otpfob"


def private_reaches(source, where="<test>"):
    """`where: what` for each use of another module's private name in `source`."""
    tree = ast.parse(source)
    modules = set()  # local names bound to modules of the package
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or "otpfob" in (node.module or "")):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(
                        "%s:%d: from %s import %s"
                        % (where, node.lineno, "." * node.level + (node.module or ""), alias.name)
                    )
                elif not node.module or alias.name[:1].islower():
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("otpfob"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append("%s:%d: %s.%s" % (where, node.lineno, node.value.id, node.attr))
    return found


def test_no_host_module_uses_another_modules_private_names():
    files = sorted(p for p in PACKAGE.rglob("*.py") if "bundled" not in p.parts)
    assert len(files) > 60
    found = []
    for p in files:
        found += private_reaches(p.read_text(encoding="utf-8"), str(p.relative_to(PACKAGE)))
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_check_sees_both_kinds_of_reach():
    source = "from .deploy import plan\nfrom .flow import _size\nplan._safe_rel('x')\n"
    assert private_reaches(source) == [
        "<test>:2: from .flow import _size",
        "<test>:3: plan._safe_rel",
    ]
    # A module's own private names, and objects' attributes, are not reaches.
    assert private_reaches("def _f():\n    pass\n_f()\nself._x = 1\n") == []
