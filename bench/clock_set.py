"""A clock set that waits for a press, answered 10 s later: the fob's clock error after it.

    python -m bench.clock_set            (or `make bench`, which runs every benchmark)

The headless simulator's clock loses its time (`rtc-power-loss`), so `otpfob time set`
needs a press; the press comes 10 s after the prompt (button down and up in real time).
The fob applies the host's time plus the time since the request came, so the error after
the set (measured by the CLI over two ticks, as `otpfob time set` prints it) is the round
trip's, not the 10 s the press took. Median of RUNS sets in one simulator.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RUNS = int(os.environ.get("OTPFOB_BENCH_CLOCK_RUNS", "3"))
WAIT = 10.0
OTPFOB = str(Path(sys.executable).with_name("otpfob"))


def one_set(fob, env):
    fob.ok("rtc-power-loss")
    out = {}

    def run():
        out["r"] = subprocess.run(
            [OTPFOB, "--port", fob.data_url, "--json", "time", "set"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    t = threading.Thread(target=run, daemon=True)
    t.start()
    fob.wait_for(lambda s: s["screen"] == "presence", what="clock prompt")
    time.sleep(WAIT)
    fob.ok("down A")
    time.sleep(0.15)
    fob.ok("up A")
    t.join(90)
    r = out["r"]
    if r.returncode != 0:
        raise RuntimeError("otpfob time set failed: " + r.stderr)
    return json.loads(r.stdout)["drift"]


def main():
    from otpfob.sim.harness import SimProcess

    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    with tempfile.TemporaryDirectory() as state:
        env["OTPFOB_HOME"] = os.path.join(state, "home")
        with SimProcess(os.path.join(state, "fob"), demo=True) as fob:
            errors = [one_set(fob, env) for _ in range(RUNS)]
    print("clock set answered %.0f s after the prompt (simulator, %d runs)" % (WAIT, RUNS))
    print(
        "  clock error after the set: median %+.1f ms (runs: %s)"
        % (1000 * statistics.median(errors), ", ".join("%+.1f" % (1000 * e) for e in errors))
    )


if __name__ == "__main__":
    main()
