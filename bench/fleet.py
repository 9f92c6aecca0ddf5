"""`otpfob fleet provision` against three fresh simulated fobs at once.

    python -m bench.fleet            (or `make bench`, which runs every benchmark)

Each run starts three headless simulators (fresh: no password, no accounts; a simulated
holder who answers yes once the question has been shown whole, as the fob counts a hold)
and provisions them with the fleet's own code (otpfob.fleet.Fleet), without and with a
password, with `setup` (one question a fob) and as with firmware without it (the single
requests), and counts the questions each fob asked. Prints the medians of the wall times
and of the questions per fob. The wall time is mostly the simulated holder reading.
"""

import os
import statistics
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("OTPFOB_BENCH_RUNS", "5"))
FOBS = 3


def one_run(tmp, password, setup=True):
    from otpfob import client, fleet
    from otpfob.sim import harness

    tmp = Path(tmp)
    sims = [harness.SimProcess(tmp / ("fob%d" % i), autopress=True) for i in range(FOBS)]
    asked = []

    class Count(fleet.Reporter):
        def say(self, text):
            asked.append(text)

    takes = client.takes_setup
    try:
        for s in sims:
            s.start()
        if not setup:
            client.takes_setup = lambda info: False
        run = fleet.Fleet(
            ["user%d@contoso.example" % i for i in range(FOBS)],
            "Contoso",
            tmp / "entra.csv",
            password="correct horse battery" if password else None,
            reporter=Count(),
        )
        t0 = time.perf_counter()
        try:
            run.run_ports([s.data_url for s in sims])
        finally:
            run.close()
        took = time.perf_counter() - t0
    finally:
        client.takes_setup = takes
        for s in sims:
            if s.running:
                s.stop()
    failed = [o.as_dict() for o in run.outcomes if o.result != "done"]
    if failed:
        raise SystemExit("fleet provision failed: %s" % failed)
    return took, len(asked) / FOBS


def main():
    print("fleet provision, %d fresh simulated fobs at once, median of %d runs:" % (FOBS, RUNS))
    for setup in (True, False):
        for password in (False, True):
            times, asks = [], []
            for _ in range(RUNS):
                with tempfile.TemporaryDirectory() as tmp:
                    took, asked = one_run(tmp, password, setup)
                times.append(took)
                asks.append(asked)
            print(
                "  %-16s %-22s %5.2f s, %g question(s) a fob"
                % (
                    "setup" if setup else "single requests",
                    "with a password" if password else "without a password",
                    statistics.median(times),
                    statistics.median(asks),
                )
            )


if __name__ == "__main__":
    main()
