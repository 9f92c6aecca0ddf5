"""The fob on real CircuitPython (tier 5's run, otpfob.testing.realcp): figures per image.

    python -m bench.realcp                  (make bench; CP_IMAGES / CP_EMU as for the tier)
    python -m bench.realcp --quick          only the .py / .mpy wake comparison

1. The tier's whole run on each image with the deployed .mpy files (images side by side):
   boot, `import` of 200 accounts, `list`, `code` for all, delete, rename, password set and
   change, reset, each with its emulated time and the longest pass of the fob's loop (the
   longest interval between two watchdog feeds; issue #19 budgets a pass at 1 s); the heap's
   low-water mark the fob reports; power-on, light-sleep and deep-sleep wake to the right
   code, with a board estimate that adds XIP cache misses and I2C time.
2. The wake latencies again with 20 accounts, deployed as .py and as .mpy, to show what
   precompiling saves at each wake, and as .mpy without CircuitPython's 1 s safe-mode wait
   (what CIRCUITPY_SAFE_MODE_DELAY = 0 in settings.toml gives from CircuitPython 10.3.0).
All times are emulated seconds (the emulator runs at about 0.3x real time here).
"""

import sys
import tempfile
from pathlib import Path

from otpfob.testing import realcp


def run_all(images, fmt, steps, accounts_n, out, safe_mode_wait=True):
    got = realcp.run_images(images, out, fmt, steps, accounts_n, safe_mode_wait=safe_mode_wait)
    return [got[v] for v in images]


def form(r):
    return r["format"] + ("" if r.get("safe_mode_wait", True) else ", no wait")


def wake_table(pairs):
    print(
        "%-8s %-11s %12s %12s %18s %18s"
        % ("image", "form", "power-on", "light", "deep", "deep (board est.)")
    )
    for r in pairs:
        if r.get("errors"):
            print("%-8s %-11s  ERROR: %s" % (r["image"], form(r), r["errors"][0][:120]))
            continue
        deep = r["deep"]
        print(
            "%-8s %-11s %10.3f s %10.3f s %16.3f s %9.2f-%.2f s"
            % (
                r["image"],
                form(r),
                r["power_on"]["to_code_s"],
                r["light"]["press_to_code_s"],
                deep["press_to_code_s"],
                deep["board_estimate_s"][0],
                deep["board_estimate_s"][1],
            )
        )


PROBE = Path(__file__).with_name("realcp_probe.py")


def probe(version, uf2, out, fmt):
    """The start of code.py on a provisioned fob (20 accounts), step by step, timed inside
    CircuitPython by realcp_probe.py: [(step, ms since reset, ms for the step)], free heap."""
    import socket
    import subprocess

    work = out / ("probe-%s-%s" % (version, fmt))
    image = work / "provisioned.img"
    with realcp.Fob(version, uf2, work, fmt) as fob:
        fob.wait_connected()
        fob.cli("time", "set")
        listing = work / "accounts.txt"
        listing.write_text("".join(a.uri() + "\n" for a in realcp.accounts(20)))
        fob.cli("import", listing)
        fob.emu.wait_sim(2)  # CircuitPython writes its flash cache out
        fob.emu.ctl("fs-image %s" % image)
        epoch = fob.emu.status()["rtc_exact"]
    subprocess.run(["mcopy", "-o", "-i", str(image), str(PROBE), "::code.py"], check=True)
    emu = realcp.Emulator(uf2, work / "probe", fs_image=image, epoch=epoch, rtc_ok=True)
    try:
        emu.wait(lambda: emu.status()["usb_connected"], "the data channel")
        with socket.create_connection(("127.0.0.1", emu.data_port), timeout=900) as s:
            data = b""
            while b"probe-end" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    finally:
        emu.close()
    rows, free = [], None
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("probe ") and "\t" in line:
            name, at, step = line[6:].split("\t")
            rows.append((name, float(at), float(step)))
        elif line.startswith("probe-end free"):
            free = int(line.split()[-1])
    return rows, free


def waits(version, uf2, out):
    """CircuitPython's own start, from a reset until it reads CIRCUITPY (just before
    boot.py), after a power-on and after a watchdog timeout (no safe-mode wait then), in
    emulated s. A deep-sleep wake is a software reset: the tier measures it (1.2 s)."""
    work = out / ("waits-%s" % version)
    realcp.deploy(work / "drive", version)
    emu = realcp.Emulator(uf2, work, fs=work / "drive", usb=False)
    try:
        first = emu.wait(lambda: realcp.first_event(emu.events, "fs", 0), "CIRCUITPY read")
        emu.wait_sim(3)
        t = emu.sim_s()
        emu.ctl("watchdog-reset")
        again = emu.wait(lambda: realcp.first_event(emu.events, "fs", t), "CIRCUITPY read")
        reset = realcp.first_event(emu.events, "reset", t)
    finally:
        emu.close()
    return {"power-on": round(first["t"], 3), "watchdog": round(again["t"] - reset["t"], 3)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    why = realcp.missing()
    print("Real CircuitPython in an emulated RP2040 (otpfob.testing.realcp), emulated seconds")
    if why:
        print("  skipped: %s" % why)
        return
    images = realcp.images()
    out = Path(tempfile.mkdtemp(prefix="otpfob-bench-realcp-"))
    if "--quick" not in argv:
        for line in realcp.report(
            run_all(images, "mpy", ("provision", "sleep", "manage"), realcp.ACCOUNTS, out)
        ):
            print(line)
        print()
    print("Wake to the right code, 20 accounts, .py against .mpy files:")
    small = ("provision", "sleep")
    wake_table(
        run_all(images, "py", small, 20, out)
        + run_all(images, "mpy", small, 20, out)
        + run_all(images, "mpy", small, 20, out, safe_mode_wait=False)
    )
    print(
        "(no wait: the firmware's reset read as a watchdog timeout, which skips CircuitPython's "
        "1 s safe-mode wait as CIRCUITPY_SAFE_MODE_DELAY = 0 does from 10.3.0)"
    )
    print(
        "CircuitPython's own start until it reads CIRCUITPY (the pico-sdk's double-reset "
        "window, the 1 s safe-mode wait, its set-up), s:"
    )
    for version in images:
        print("  %s: %s" % (version, waits(version, images[version], out)))
    for version in images:
        for fmt in ("py", "mpy"):
            rows, free = probe(version, images[version], out, fmt)
            print(
                "code.py's start on %s from %s files, ms (inside CircuitPython: since the "
                "reset, and for the step); free heap after: %s B" % (version, fmt, free)
            )
            for name, at, step in rows:
                print("  %-72s %8.1f %8.1f" % (name, at, step))
    print("(run folders: %s)" % out)


if __name__ == "__main__":
    main()
