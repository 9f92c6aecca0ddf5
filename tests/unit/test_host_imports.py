"""The host package's modules use each other's public names only: a module that reaches
into another's `_private` names (by `from x import _y` or `x._y` on an imported module)
breaks when that module is reorganised, as deploy/ and fleet/ were."""

from pathlib import Path

from import_graph import private_reaches

PACKAGE = Path(__file__).resolve().parents[2] / "host_tools" / "otpfob"


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
