"""The firmware's modules import each other without back-edges: no cycle among what they
import at load time (a module loaded later, inside a function, is how the firmware keeps
rare code off the heap, and is not an edge here), and none uses another's private names.
docs/architecture.md, "Firmware", draws the layers this holds."""

from pathlib import Path

from import_graph import cycles, load_time_imports, private_reaches

FOB = Path(__file__).resolve().parents[2] / "firmware" / "lib" / "fob"
# Modules let off the private-names check (none).
KNOWN_REACHES: set[str] = set()


def sources():
    files = sorted(FOB.glob("*.py"))
    assert len(files) > 30
    return {"fob." + p.stem: p.read_text(encoding="utf-8") for p in files}


def test_no_cycle_among_the_firmware_modules_at_load_time():
    graph = {name: load_time_imports(src, "fob") for name, src in sources().items()}
    assert graph["fob.app"], "the check reads no imports at all"
    found = cycles(graph)
    assert not found, "load-time import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_firmware_module_uses_another_modules_private_names():
    found = []
    for name, src in sources().items():
        module = name.split(".", 1)[1] + ".py"
        reaches = private_reaches(src, module, package="fob")
        found += [r for r in reaches if r.split(":", 1)[0] not in KNOWN_REACHES]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_checks_see_a_cycle_and_a_reach_in_firmware_code():
    graph = {
        "fob.a": load_time_imports("from fob import b\n", "fob"),
        "fob.b": load_time_imports(
            "try:\n    from fob.c import x\nexcept ImportError:\n    pass\n", "fob"
        ),
        "fob.c": load_time_imports("import fob.a\ndef later():\n    from fob import b\n", "fob"),
        "fob.d": load_time_imports("def later():\n    from fob import a\n", "fob"),
    }
    assert graph["fob.d"] == set()
    assert cycles(graph) == [["fob.a", "fob.b", "fob.c", "fob.a"]]
    src = "from fob.vault import _HEADER, CAPACITY\nfrom fob import vault\nvault._MAGIC\n"
    assert private_reaches(src, "x.py", package="fob") == [
        "x.py:1: from fob.vault import _HEADER",
        "x.py:3: vault._MAGIC",
    ]
