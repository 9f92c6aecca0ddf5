"""Tier 5: real CircuitPython on an emulated RP2040 (make test-realcp).

Each image in CP_IMAGES (default ../shared/cp-images) runs the whole of
otpfob.testing.realcp.Run once, all images side by side (one thread each, around its own
emulator process) at the first test; the tests then check what each run found. Its folder (console log, trace, what went over
the data channel, results.json) is build/realcp/<image>/. The figures of every image are
printed at the end of the session.
"""

import json
import shutil
from pathlib import Path

import pytest

from otpfob.testing import realcp

OUT = realcp.REPO / "build" / "realcp"


def pytest_collection_modifyitems(config, items):
    mine = [i for i in items if Path(str(i.fspath)).parent == Path(__file__).parent]
    if not mine:
        return
    why = None
    if not config.getoption("--realcp"):
        why = "real CircuitPython tier: run it with make test-realcp"
    else:
        why = realcp.missing()
    if why:
        for item in mine:
            item.add_marker(pytest.mark.skip(reason=why))


def image_params():
    found = realcp.images()
    if not found:
        return [pytest.param(None, id="no-images")]
    return [pytest.param(v, id=v) for v in found]


@pytest.fixture(scope="session")
def runs():
    shutil.rmtree(OUT, ignore_errors=True)
    return realcp.run_images(realcp.images(), OUT, say=lambda text: print(text, flush=True))


@pytest.fixture(params=image_params())
def run(request):
    if request.param is None:
        pytest.skip(realcp.missing() or "no images")
    return request.getfixturevalue("runs")[request.param]


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("--realcp"):
        return
    results = []
    for p in sorted(OUT.glob("*/results.json")):
        try:
            results.append(json.loads(p.read_text()))
        except ValueError:
            continue
    if results:
        terminalreporter.section("real CircuitPython: figures (emulated seconds)")
        for line in realcp.report(results):
            terminalreporter.write_line(line)
