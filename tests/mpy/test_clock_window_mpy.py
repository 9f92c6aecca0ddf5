"""The clock window (fob/provision.py, time_set) on the 32-bit WebAssembly port, where an
epoch is a heap big int and floats are too coarse to hold one: small moves pass until 120 s
in all, then a set waits for a press; the record on flash survives a new Protocol."""

import json
from pathlib import Path

import pytest

from otpfob.testing import mpy

SCRIPT = (
    "ANSWER = False  # the person at the fob refuses every prompt\n"
    + Path(__file__).with_name("protocol_rig.py").read_text()
    + r"""
port, p = fob()
for i in range(16):
    step = 10 if i % 2 == 0 else -7
    port.inbox += json.dumps({"id": i, "cmd": "time_set", "time": clock.t + step}) + "\n"
    settle(port, p, i)
print("--- restart")
port, p = fob()
port.inbox += json.dumps({"id": 99, "cmd": "time_set", "time": clock.t + 2}) + "\n"
settle(port, p, 99)
"""
)


@pytest.mark.skipif(not mpy.wasm_available(), reason="node or the WebAssembly port missing")
def test_clock_window_on_the_32_bit_port():
    res = mpy.run_wasm(SCRIPT, heapsize=128 * 1024).check()
    first, second = res.stdout.split("--- restart")
    lines = [json.loads(x) for x in first.splitlines() if x.startswith("{")]
    done = [r for r in lines if "pending" not in r]
    passed = [r for r in done if r["ok"]]
    # 10 s forward, 7 s back, ...: each move costs its size (less the fob's 0.25 s into
    # its second, or plus it going back): 9.75 + 7.25 + ... fits 14 moves in 120 s.
    assert len(passed) == 14
    assert [r["window_left"] for r in passed][:3] == [111, 103, 94]
    asked = [r["prompt"] for r in lines if "pending" in r]
    assert asked[0] == "Clock +9.75 s?"
    # The holder's no, then the questions of a host that has not logged in wait a while.
    assert done[14]["error"]["code"] == "refused"
    assert all(r["error"]["code"] == "cooldown" for r in done[15:])
    # 119 s used; after a restart a 1.75 s move no longer fits.
    again = [json.loads(x) for x in second.splitlines() if x.startswith("{")]
    assert again[0]["pending"] == "presence" and again[-1]["error"]["code"] == "refused"
