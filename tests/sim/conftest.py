"""Shared fixtures for the simulator tier.

- ``fake_clock`` / ``world``: a World on a hand-driven clock for model tests.
- ``sim_factory``: starts ``otpfob sim --headless`` subprocesses (``SimProcess``) and
  stops them after the test; ``sim``: one running the repository's firmware with the demo
  account (skipped while firmware/code.py does not exist yet).
"""

import sys
from pathlib import Path

import pytest

from otpfob.sim.cp import busio as fake_busio
from otpfob.sim.cp import digitalio as fake_digitalio
from otpfob.sim.harness import SimProcess
from otpfob.sim.world import World

# The Adafruit drivers' annotations name `busio` and `digitalio` at import time; CPython has
# neither (tests/conftest.py installs the `micropython` stand-in for every tier).
sys.modules.setdefault("busio", fake_busio)
sys.modules.setdefault("digitalio", fake_digitalio)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ECHO_FW = FIXTURES / "echo_fw"
REAL_FW = REPO / "firmware"


class FakeClock:
    """A real-time clock the test moves by hand; sleeping moves it too."""

    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def world(fake_clock):
    return World(epoch=1_800_000_000.0, real_clock=fake_clock, real_sleep=fake_clock.sleep)


@pytest.fixture
def sim_factory(tmp_path):
    started = []

    def make(state_dir=None, **kwargs):
        # A simulated user approves the fob's presence prompts unless a test wants to
        # answer them itself (autopress=False).
        kwargs.setdefault("autopress", True)
        proc = SimProcess(state_dir or (tmp_path / "state"), **kwargs)
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        if proc.running:
            try:
                proc.stop()
            except Exception:
                proc.kill()


@pytest.fixture
def sim(sim_factory):
    if not (REAL_FW / "code.py").is_file():
        pytest.skip("firmware/code.py not written yet")
    return sim_factory(demo=True)
