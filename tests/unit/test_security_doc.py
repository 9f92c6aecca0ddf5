"""docs/security.md names, for each claim, the tests that show it: they must exist."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_test_the_security_page_names_exists():
    text = (REPO / "docs" / "security.md").read_text()
    table = text[text.index("## Claims and the tests that show them") :]
    named = 0
    for row in table.splitlines():
        if not row.startswith("| ") or row.startswith("| claim") or row.startswith("|---"):
            continue
        current = None
        refs = re.findall(r"`(tests/[\w/]+\.py)?::(test_\w+)`", row)
        assert refs, "a claim without a test: " + row
        for path, name in refs:
            current = path or current
            assert current, row
            source = (REPO / current).read_text()
            assert re.search(r"^def %s\(" % name, source, re.M), (current, name)
            named += 1
    assert named >= 30
