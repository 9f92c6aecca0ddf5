import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from otpfob.resources import use_firmware

REPO = Path(__file__).resolve().parents[1]
FIRMWARE_LIB = REPO / "firmware" / "lib"
BOARDS = REPO / "boards"

# Firmware modules are importable on CPython exactly as on the fob (`import fob.otp`), with
# the one `micropython` stand-in installed for every tier: the firmware has no fallback.
use_firmware(REPO / "firmware")

settings.register_profile(
    "default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", deadline=None, max_examples=20000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    parser.addoption("--run-soak", action="store_true", help="run the long soak tests")
    parser.addoption(
        "--realcp", action="store_true", help="run the real-CircuitPython tier (make test-realcp)"
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slower than a few seconds")
    config.addinivalue_line("markers", "soak: long runs, only with --run-soak (make soak)")
    config.addinivalue_line("markers", "fuzz: hypothesis fuzzing; longer under make fuzz")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with make soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_otpfob_home(tmp_path_factory, monkeypatch):
    # The CLI keeps a clock history per fob under OTPFOB_HOME; tests (and the CLI
    # subprocesses they start, which inherit os.environ) must never touch the user's.
    monkeypatch.setenv("OTPFOB_HOME", str(tmp_path_factory.mktemp("otpfob-home")))
