"""What installing otpfob costs: the figures the README's Install section quotes.

    python -m bench.install            (or `make bench`, which runs every benchmark)

1. Sizes of the wheel, the sdist and the CIRCUITPY zip, built as `make dist` builds them.
2. `pip install` of the wheel into a fresh virtualenv, offline (its requirements from the
   locked wheelhouse in .venv/wheelhouse; the venv made beforehand, not timed): median of
   several runs, each into a new venv.
3. `otpfob --help` start-up from that installed wheel: median of several runs.
"""

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from otpfob.testing import packaging

INSTALL_RUNS = int(os.environ.get("OTPFOB_BENCH_INSTALL_RUNS", "5"))
RUNS = int(os.environ.get("OTPFOB_BENCH_RUNS", "9"))


def _stats(times):
    return statistics.median(times), min(times), max(times)


def install_times(wheel, work, runs):
    times = []
    for n in range(runs):
        env_dir = packaging.fresh_venv(Path(work) / ("venv%d" % n))
        t = time.perf_counter()
        packaging.install(env_dir, wheel)
        times.append(time.perf_counter() - t)
    return _stats(times), env_dir


def help_times(env_dir, cwd, runs):
    otpfob = str(packaging.bin_path(env_dir, "otpfob"))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [otpfob, "--help"], cwd=cwd, env=packaging.clean_env(), capture_output=True, check=True
        )
        times.append(time.perf_counter() - t)
    return _stats(times)


def main():
    from otpfob import bundle

    packaging.wheelhouse()
    with tempfile.TemporaryDirectory(prefix="otpfob-bench-install-") as work:
        work = Path(work)
        wheel, sdist = packaging.build(work / "dist")
        zip_path = bundle.build_bundle(work / "dist")
        print("install: the package as `make dist` builds it, installed offline")
        for label, p in (("wheel", wheel), ("sdist", sdist), ("CIRCUITPY zip", zip_path)):
            print("  %-14s %s: %.0f KiB" % (label, p.name, p.stat().st_size / 1024))
        (med, lo, hi), env_dir = install_times(wheel, work, INSTALL_RUNS)
        print(
            "  pip install of the wheel into a fresh venv (offline): median %.1f s "
            "(min %.1f, max %.1f), %d runs" % (med, lo, hi, INSTALL_RUNS)
        )
        cwd = work / "elsewhere"
        cwd.mkdir()
        med, lo, hi = help_times(env_dir, cwd, RUNS)
        print(
            "  otpfob --help start-up, installed wheel: median %.0f ms (min %.0f, max %.0f),"
            " %d runs  [target < 300 ms]" % (med * 1e3, lo * 1e3, hi * 1e3, RUNS)
        )


if __name__ == "__main__":
    main()
