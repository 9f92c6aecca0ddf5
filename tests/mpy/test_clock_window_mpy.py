"""The clock window (fob/provision.py, time_set) on the 32-bit WebAssembly port, where an
epoch is a heap big int and floats are too coarse to hold one: small moves pass until 120 s
in all, then a set waits for a press; the record on flash survives a new Protocol."""

import json

import pytest

from otpfob.testing import mpy

SCRIPT = r"""
import json
import os

from fob.protocol import Protocol
from fob.vault import Vault

ROOT = "/state"
try:
    os.mkdir(ROOT)
except OSError:
    pass


class Port:
    def __init__(self):
        self.inbox = b""
        self.out = ""
        self.finals = []  # ids of the final replies written so far


    @property
    def in_waiting(self):
        return len(self.inbox)

    def read(self, n):
        data = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return data

    def write(self, data):
        text = str(data, "utf-8")
        print(text, end="")
        self.out += text
        while "\n" in self.out:
            line, self.out = self.out.split("\n", 1)
            r = json.loads(line)
            if "pending" not in r:
                self.finals.append(r.get("id"))
        return len(data)


class Clock:
    reason = "ok"

    def __init__(self):
        self.t = 1800000000

    def now(self):
        return self.t

    def fraction(self):
        return 0.25

    def set(self, t):
        self.t = t


class No:
    # The person at the fob, refusing every prompt.
    answer = None

    def ask(self, prompt):
        self.answer = False

    def cancel(self):
        self.answer = None

    def notify(self, text):
        pass


clock = Clock()


def fob():
    v = Vault(ROOT)
    v.load()
    port = Port()
    return port, Protocol(port, v, clock, {}, presence=No())


def settle(port, p, rid):
    # Until the request's final reply: a set whose request was not worked on within
    # 20 ms of coming waits, in passes, for the fob's next whole second (a busy machine).
    for _ in range(1000000):
        p.poll()
        if rid in port.finals:
            return
    print("no final reply to %d" % rid)


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
