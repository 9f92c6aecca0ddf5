"""OTP engine benchmark: µs and heap bytes per TOTP code under real MicroPython.

Interpreters: the unix port (64-bit) and the WebAssembly port (32-bit, where ints past
2**30 are heap big ints as on a Cortex-M0+).  Implementations:

  (a) native  - fob.hmac over the interpreter's hashlib, where it has the algorithm
  (b) pure    - fob's pure compressions with precomputed HMAC states: 16-bit halves,
                but SHA-1 over whole 32-bit words on the 64-bit port (fob.sha1_wide)
  (c) anchor  - adafruit_hashlib's pure SHA-1 / SHA-256 under a textbook HMAC
                (four compressions per code, nothing precomputed)

Run with ``python -m bench`` (or ``make bench``).
"""

import shutil
import sys
import tempfile
from pathlib import Path

import pyotp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host_tools"))

from otpfob.testing import mpy  # noqa: E402

KEY = bytes(range(1, 21)) + b"benchmark-key-0123456789abcdef"  # 50 bytes, under a block
START = 1793491200
RUNS = 5

TARGET_SPEEDUP = 4.0  # (c) / (b) on wasm, SHA-1 and SHA-256
TARGET_BYTES = 4096  # (b) bytes per code on wasm
TARGET_NATIVE_RATIO = 6.0  # (b) / (a) on unix, SHA-1

# Runs on MicroPython.  IMPL, ALGS, KEY, START, RUNS, MIN_US are prepended by the host.
_SCRIPT = r"""
import gc
import time
from fob import otp

ticks = time.ticks_us
diff = time.ticks_diff


def anchor_maker(alg):
    import struct
    if alg == "sha1":
        from adafruit_hashlib._sha1 import sha1 as ctor
    else:
        from adafruit_hashlib._sha256 import sha256 as ctor

    def code(t):
        # Textbook HMAC (RFC 2104) and HOTP truncation: pad the key and hash
        # ipad || msg, then opad || inner, for every code.
        key = KEY
        if len(key) > 64:
            key = ctor(key).digest()
        key = key + bytes(64 - len(key))
        ipad = bytes(b ^ 0x36 for b in key)
        opad = bytes(b ^ 0x5C for b in key)
        msg = struct.pack(">Q", t // 30)
        inner = ctor(ipad + msg).digest()
        mac = ctor(opad + inner).digest()
        off = mac[-1] & 15
        value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
        return "%06d" % (value % 1000000)
    return code


def ours_maker(alg):
    key = otp.Key(KEY, alg)

    def code(t):
        return otp.totp(key, t)
    return code, key._mac.uses_native


def median_us(fn):
    # Enough codes per run for at least MIN_US of work, then the median of RUNS runs.
    n = 1
    while True:
        t0 = ticks()
        for i in range(n):
            fn(START + 30 * i)
        dt = diff(ticks(), t0)
        if dt >= MIN_US or n >= 8192:
            break
        n *= 2
    times = []
    for _ in range(RUNS):
        t0 = ticks()
        for i in range(n):
            fn(START + 30 * i)
        times.append(diff(ticks(), t0) / n)
    times.sort()
    return times[len(times) // 2]


def bytes_per_code(fn, count=4):
    fn(START)
    gc.collect()
    gc.disable()
    m0 = gc.mem_alloc()
    for i in range(count):
        fn(START + 30 * i)
    used = gc.mem_alloc() - m0
    gc.enable()
    gc.collect()
    return used // count


for alg in ALGS:
    if IMPL == "anchor":
        fn = anchor_maker(alg)
        native = False
    else:
        fn, native = ours_maker(alg)
    if IMPL == "native" and not native:
        print("RESULT", alg, "n/a", "n/a", "-")
        continue
    if IMPL == "pure" and native:
        raise SystemExit("pure run used a native hash")
    first = fn(START)
    print("RESULT", alg, median_us(fn), bytes_per_code(fn), first)
"""

_IMPLS = (
    ("native", ("sha1", "sha256", "sha512")),
    ("pure", ("sha1", "sha256", "sha512")),
    ("anchor", ("sha1", "sha256")),
)


def _anchor_dir(tmp):
    import adafruit_hashlib

    src = Path(adafruit_hashlib.__file__).parent
    dest = Path(tmp) / "adafruit_hashlib"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return str(tmp)


def _expected(alg):
    import hashlib

    class _TOTP(pyotp.TOTP):
        min_secret_length_bits = 8

    import base64

    return _TOTP(base64.b32encode(KEY).decode(), digest=getattr(hashlib, alg)).at(START)


def _run(interp, impl, algs, anchor_path):
    # The WebAssembly port's clock ticks in whole milliseconds: longer runs there.
    min_us = 50000 if interp == "unix" else 300000
    header = "IMPL = %r\nALGS = %r\nKEY = %r\nSTART = %d\nRUNS = %d\nMIN_US = %d\n" % (
        impl,
        algs,
        KEY,
        START,
        RUNS,
        min_us,
    )
    paths = [str(mpy.FIRMWARE_LIB)]
    hide = ("hashlib",) if impl != "native" else ()
    if impl == "anchor":
        paths.append(anchor_path)
    run = mpy.run_unix if interp == "unix" else mpy.run_wasm
    # The anchor allocates more than a small board's whole heap per code.
    heap = 8 * 1024 * 1024 if impl == "anchor" else 256 * 1024
    res = run(header + _SCRIPT, paths=paths, heapsize=heap, hide=hide).check()
    rows = {}
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            _, alg, us, nbytes, code = line.split()
            if us == "n/a":
                rows[alg] = None
                continue
            if code != _expected(alg):
                raise SystemExit(
                    "%s %s %s gave %s, expected %s" % (interp, impl, alg, code, _expected(alg))
                )
            rows[alg] = (float(us), int(nbytes))
    return rows


def measure():
    """{(interp, impl, alg): (us_per_code, bytes_per_code) or None}."""
    results = {}
    interps = ["unix"]
    if mpy.wasm_available():
        interps.append("wasm")
    with tempfile.TemporaryDirectory() as tmp:
        anchor_path = _anchor_dir(tmp)
        for interp in interps:
            for impl, algs in _IMPLS:
                for alg, row in _run(interp, impl, algs, anchor_path).items():
                    results[(interp, impl, alg)] = row
    return results


def _verdict(ok):
    return "PASS" if ok else "MISS"


def main():
    print(
        "OTP engine: one TOTP code (6 digits, 30 s, %d-byte key), median of %d runs"
        % (len(KEY), RUNS)
    )
    results = measure()
    label = {"native": "(a) native", "pure": "(b) pure", "anchor": "(c) anchor"}
    print()
    print("%-6s %-12s %-7s %12s %14s" % ("interp", "impl", "alg", "us/code", "bytes/code"))
    for (interp, impl, alg), row in sorted(
        results.items(), key=lambda kv: (kv[0][0], [i for i, _ in _IMPLS].index(kv[0][1]), kv[0][2])
    ):
        if row is None:
            print("%-6s %-12s %-7s %12s %14s" % (interp, label[impl], alg, "n/a", "n/a"))
        else:
            print("%-6s %-12s %-7s %12.1f %14d" % (interp, label[impl], alg, row[0], row[1]))
    print()
    for alg in ("sha1", "sha256"):
        pure = results.get(("wasm", "pure", alg))
        anchor = results.get(("wasm", "anchor", alg))
        if pure and anchor:
            ratio = anchor[0] / pure[0]
            print(
                "wasm %s speed-up (b) vs (c): %.1fx (target >= %.0fx) %s"
                % (alg, ratio, TARGET_SPEEDUP, _verdict(ratio >= TARGET_SPEEDUP))
            )
    for alg in ("sha1", "sha256", "sha512"):
        pure = results.get(("wasm", "pure", alg))
        if pure:
            print(
                "wasm %s bytes/code (b): %d (target <= %d) %s"
                % (alg, pure[1], TARGET_BYTES, _verdict(pure[1] <= TARGET_BYTES))
            )
    native = results.get(("unix", "native", "sha1"))
    pure = results.get(("unix", "pure", "sha1"))
    if native and pure:
        ratio = pure[0] / native[0]
        print(
            "unix sha1 (b)/(a): %.1fx (target <= %.0fx) %s"
            % (ratio, TARGET_NATIVE_RATIO, _verdict(ratio <= TARGET_NATIVE_RATIO))
        )
    return results


if __name__ == "__main__":
    main()
