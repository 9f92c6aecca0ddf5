# The fob's Protocol over in-script fakes, for real MicroPython interpreters: the head of a
# script (tests read this file as text and put their own steps after it). The driver sets
# ANSWER first: what the person at the fob says to every question (True, False).
#   port, p = fob()           a Protocol over the vault in /state, as after a power-on
#   port.inbox += line        a request; settle(port, p, rid) runs passes until its final
#                             reply and returns how many it took
# Every line the fob writes is printed, so the test reads the replies from stdout.

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


class Person:
    answer = None

    def ask(self, prompt):
        self.answer = ANSWER  # noqa: F821 (the driver sets it before this text)

    def cancel(self):
        self.answer = None

    def notify(self, text):
        pass


clock = Clock()


def fob():
    v = Vault(ROOT)
    v.load()
    port = Port()
    return port, Protocol(port, v, clock, {}, presence=Person())


def settle(port, p, rid):
    # Until the request's final reply (a clock set waits, in passes, for the fob's next
    # whole second; a change is a step a pass).
    for passes in range(1000000):
        if rid in port.finals:
            return passes
        p.poll()
    print("no final reply to %r" % rid)
    return None
