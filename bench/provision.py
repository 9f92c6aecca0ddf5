"""Provisioning speed against the headless simulator, and CLI start-up time.

    python -m bench.provision            (or `make bench`, which runs every benchmark)

1. 200 accounts with one `otpfob import` (a text file of otpauth URIs): wall time, requests
   and round trips, vault writes (from the slot files' sequence numbers). The import is one
   staged add_many batch, so the fob writes its flash once however many requests it takes.
2. The same 200 accounts with 200 `otpfob add` calls.
3. `otpfob --help` and `otpfob list` start-up: median of several runs.
4. `otpfob code` for all the accounts (the fob streams one reply of 200 codes): median.
Targets: the import under 2 s with 1 vault write; --help and list under 300 ms; code for
200 accounts under 1 s.
"""

import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACCOUNTS = int(os.environ.get("OTPFOB_BENCH_ACCOUNTS", "200"))
RUNS = int(os.environ.get("OTPFOB_BENCH_RUNS", "9"))
OTPFOB = str(Path(sys.executable).with_name("otpfob"))
# Vault slot header: "OTPV", version u8, flags u8, count u16, sequence u32 (fob/vault.py).
_HEADER = "<4sBBHI"


def vault_sequence(state):
    """The highest slot sequence number: it grows by one per vault write."""
    best = 0
    for name in ("vault_a.bin", "vault_b.bin"):
        path = Path(state) / name
        if path.exists():
            head = path.read_bytes()[: struct.calcsize(_HEADER)]
            if len(head) == struct.calcsize(_HEADER):
                magic, _, _, _, seq = struct.unpack(_HEADER, head)
                if magic == b"OTPV":
                    best = max(best, seq)
    return best


def run(url, *args, check=True):
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    r = subprocess.run([OTPFOB, "--port", url, *args], capture_output=True, text=True, env=env)
    if check and r.returncode:
        raise SystemExit("otpfob %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r


def timed(argv, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def accounts():
    from otpfob.otpauth import Account

    return [
        Account(
            "user%03d@example.com" % i,
            bytes([i % 256, i // 256]) + b"-secret-bytes-%03d" % i,
            issuer="Service %d" % (i % 17),
        )
        for i in range(ACCOUNTS)
    ]


def main():
    from otpfob.otpauth import build_uri, encode_secret
    from otpfob.sim.harness import SimProcess

    accs = accounts()
    print("provision: %d accounts into the headless simulator" % len(accs))
    with tempfile.TemporaryDirectory(prefix="otpfob-bench-") as tmp:
        state = Path(tmp) / "state"
        uris = Path(tmp) / "accounts.txt"
        uris.write_text("".join(build_uri(a) + "\n" for a in accs))
        # A simulated user answers the fob's press prompts (each add, the import, reset).
        with SimProcess(state, autopress=True) as fob:
            url = fob.data_url
            run(url, "time", "set")

            seq = vault_sequence(state)
            t = time.perf_counter()
            out = json.loads(run(url, "--json", "import", str(uris)).stdout)
            wall = time.perf_counter() - t
            writes = vault_sequence(state) - seq
            print(
                "  import (one otpfob import):  %.2f s wall, %d add_many requests, "
                "%d round trips, %d vault writes  [target < 2 s, one write a batch of 100]"
                % (wall, out["requests"], out["round_trips"], writes)
            )
            if out["added"] != len(accs):
                raise SystemExit(
                    "the import stored %d accounts, not %d" % (out["added"], len(accs))
                )

            t = time.perf_counter()
            run(url, "list")
            list_full = time.perf_counter() - t
            code_t = timed([OTPFOB, "--port", url, "code"], RUNS)
            code_json_t = timed([OTPFOB, "--port", url, "--json", "code"], RUNS)

            run(url, "reset", "--force")
            seq = vault_sequence(state)
            t = time.perf_counter()
            for a in accs:
                run(url, "add", a.label, encode_secret(a.secret))
            wall_adds = time.perf_counter() - t
            writes = vault_sequence(state) - seq
            # Each add is one `add` and one `code` request (the check of the new account).
            print(
                "  %d single otpfob add:        %.2f s wall, %d round trips, "
                "%d vault writes" % (len(accs), wall_adds, 2 * len(accs), writes)
            )

            help_t = timed([OTPFOB, "--help"], RUNS)
            list_t = timed([OTPFOB, "--port", url, "list"], RUNS)
            json_t = timed([OTPFOB, "--port", url, "--json", "list"], RUNS)
            run(url, "reset", "--force")
            run(url, "add", "Bench:one", encode_secret(accs[0].secret))
            list_one = timed([OTPFOB, "--port", url, "list"], RUNS)
        fmt = "median %.0f ms (min %.0f, max %.0f), %d runs"
        print(
            "  start-up otpfob --help:           "
            + fmt % (help_t[0] * 1e3, help_t[1] * 1e3, help_t[2] * 1e3, RUNS)
            + "  [target < 300 ms]"
        )
        print(
            "  start-up otpfob list (1 account):  "
            + fmt % (list_one[0] * 1e3, list_one[1] * 1e3, list_one[2] * 1e3, RUNS)
            + "  [target < 300 ms]"
        )
        print(
            "  otpfob list (%d accounts):       " % len(accs)
            + fmt % (list_t[0] * 1e3, list_t[1] * 1e3, list_t[2] * 1e3, RUNS)
        )
        print(
            "  otpfob --json list (%d accounts): " % len(accs)
            + fmt % (json_t[0] * 1e3, json_t[1] * 1e3, json_t[2] * 1e3, RUNS)
        )
        print(
            "  otpfob code (%d accounts):       " % len(accs)
            + fmt % (code_t[0] * 1e3, code_t[1] * 1e3, code_t[2] * 1e3, RUNS)
            + "  [target < 1 s]"
        )
        print(
            "  otpfob --json code (%d accounts): " % len(accs)
            + fmt % (code_json_t[0] * 1e3, code_json_t[1] * 1e3, code_json_t[2] * 1e3, RUNS)
        )
        print("  (first list after the import: %.0f ms)" % (list_full * 1e3))


if __name__ == "__main__":
    main()
