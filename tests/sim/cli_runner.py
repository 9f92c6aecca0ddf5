"""`otpfob` run as its users run it, in a subprocess against a simulator's data channel;
shared by the end-to-end tests."""

import os
import subprocess
import sys
from pathlib import Path

OTPFOB = str(Path(sys.executable).with_name("otpfob"))


def run_otpfob(url, *args, input=None, timeout=60, env_extra=None):
    """`otpfob --port URL ARGS...` (OTPFOB_PORT from the environment left out; env_extra
    added to it)."""
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    env.update(env_extra or {})
    return subprocess.run(
        [OTPFOB, "--port", url, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
