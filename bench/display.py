"""Display bus traffic and firmware heap.

1. I2C bytes per second on the code screen over one simulated minute: the firmware's
   changed-window flushes against a full-frame ``show()`` every second (the plain way).
2. The whole firmware (App with 100 accounts on the simulated board, pure-Python SHA-1)
   under the MicroPython unix port: live heap after boot and the peak live heap over ten
   simulated minutes of browsing and idling, at the heap it needs today, and whether it
   boots within 128 KiB. The simulator's own models and fake modules (about 30 KB) share
   that heap; on a board those are native.

Run: ``.venv/bin/python -m bench.display`` (or ``make bench``).
"""

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRMWARE_LIB = REPO / "firmware" / "lib"
HOST_TOOLS = REPO / "host_tools"
BOARDS = REPO / "boards"
DRIVERS = next((REPO / ".venv" / "lib").glob("python3*/site-packages"), REPO)
EPOCH = 1800000000
# The heap the whole firmware plus the simulator needs today under the unix port.
WORKING_HEAP = 400 * 1024

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


HEAP_SCRIPT = r"""
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
for name, mod in cp.modules(hw).items():
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
before = gc.mem_alloc()
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
print("RESULT " + repr({"boot_live": boot_live, "boot_free": boot_free,
                         "peak_live": peak_live, "min_free": min_free, "steps": steps,
                         "presses": presses, "screen": st["screen"], "count": st["count"],
                         "codes": app.ui.codes_computed, "draws": app.ui.draws,
                         "heap": gc.mem_free() + gc.mem_alloc()}))
"""


def firmware_heap(accounts=100, minutes=10, heapsize=131072, height=64, hide=("hashlib",)):
    """Run the firmware under the MicroPython unix port; returns the RESULT dict."""
    from otpfob.testing.mpy import run_unix

    with tempfile.TemporaryDirectory() as state:
        seed_vault(state, accounts)
        script = HEAP_SCRIPT % {"epoch": EPOCH, "state": state, "minutes": minutes,
                                "height": height, "board": str(BOARDS / "sim.py")}
        res = run_unix(script, paths=(str(FIRMWARE_LIB), str(HOST_TOOLS), str(DRIVERS)),
                       heapsize=heapsize,
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
        firmware_heap(minutes=minutes, heapsize=131072)
        print("firmware heap: runs within heapsize=131072")
    except AssertionError as e:
        why = [ln for ln in str(e).splitlines() if "Error" in ln] or ["see the heap test"]
        print("firmware heap: does NOT run within heapsize=131072: %s" % why[-1].strip())
    heap = firmware_heap(minutes=minutes, heapsize=WORKING_HEAP)
    print("firmware heap, MicroPython unix port, heapsize=%d, 100 accounts, pure SHA-1, "
          "%d simulated minutes:" % (WORKING_HEAP, minutes))
    print("  live after boot: %d bytes (free %d)" % (heap["boot_live"], heap["boot_free"]))
    print("  peak live: %d bytes (least free %d)" % (heap["peak_live"], heap["min_free"]))
    print(json.dumps({"display": {"ours": ours, "full": full, "ratio": ratio}, "heap": heap}))


if __name__ == "__main__":
    main()
