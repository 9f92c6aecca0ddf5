"""otpfob's licence and the notices of what it redistributes: present, and naming every
part the wheel and the CIRCUITPY zip carry (a driver or npm file added to the pins without
its notice fails here, before any build)."""

import json
import re
from importlib import metadata
from pathlib import Path

import tomllib

from otpfob import resources

REPO = Path(__file__).resolve().parents[2]
NOTICES = (REPO / "THIRD_PARTY_NOTICES.md").read_text()


def pinned_drivers():
    out = []
    for line in (REPO / "requirements-drivers.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("adafruit-circuitpython-"):
            out.append(line.split("==")[0])
    return out


def test_project_is_mit_with_the_authors_copyright_and_pyproject_says_so():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the otpfob authors" in text
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert set(project["license-files"]) >= {"LICENSE", "THIRD_PARTY_NOTICES.md"}
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_every_pinned_driver_is_named_with_each_copyright_line_of_its_licence():
    drivers = pinned_drivers()
    assert len(drivers) >= 6
    for name in drivers:
        assert name in NOTICES, "%s is pinned but not in THIRD_PARTY_NOTICES.md" % name
        dist = metadata.distribution(name)
        licences = [
            f
            for f in dist.files or ()
            if "licenses" in f.parts or f.name.upper().startswith("LICENSE")
        ]
        assert licences, "%s carries no licence file" % name
        for f in licences:
            text = Path(dist.locate_file(f)).read_text()
            assert "MIT" in text, (name, "no longer MIT: the notices must say so")
            for line in re.findall(r"^Copyright .*$", text, re.M):
                # The notices wrap long lines: compare with whitespace folded.
                folded = " ".join(NOTICES.split())
                assert " ".join(line.split()) in folded, (name, line)


def test_every_npm_file_the_page_ships_is_named():
    vendor = json.loads((REPO / "web" / "vendor.json").read_text())["files"]
    lock = json.loads((REPO / "package-lock.json").read_text())["packages"]
    for name, rel in vendor.items():
        package = rel.split("/")[0] if not rel.startswith("@") else "/".join(rel.split("/")[:2])
        assert "`%s`" % package in NOTICES, package
        assert "`%s`" % name in NOTICES, name
        licence = lock["node_modules/" + package]["license"]
        row = next(r for r in NOTICES.splitlines() if "`%s`" % package in r)
        assert row.rstrip(" |").endswith(licence), (package, licence, row)


def test_the_apache_licence_text_and_the_notice_files_are_where_resources_says():
    files = resources.notice_files()
    assert set(files) == {"LICENSE", "THIRD_PARTY_NOTICES.md", "LICENSES/Apache-2.0.txt"}
    for rel, path in files.items():
        assert path.is_file(), rel
    assert "Apache License" in files["LICENSES/Apache-2.0.txt"].read_text()
