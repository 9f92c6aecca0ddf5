"""Power: wake latency on the 32-bit MicroPython port, and a day on a battery.

1. Wake latency, from the wake press to the code in the display's buffer and sent, on the
   32-bit WebAssembly port (``otpfob.testing.mpy.run_wasm``) with a board-sized heap and
   native hashlib hidden (CircuitPython 8.x on RP2040 has none), chips stubbed (the I2C
   devices answer at once):
   - light sleep: the buttons' pins claimed again, the UI woken, the clock read, the code
     of the entry shown computed (its HMAC states kept from before the sleep), drawn and
     sent; the clock moved on 100 s as the sleep would;
   - deep sleep: code.py starts again, so the firmware's own modules imported (compiled
     from .py, as deployed without an mpy-cross), the vault read, settings, display,
     clock, buttons and UI made, and the first code computed, drawn and sent. Not in
     it: CircuitPython's own start (reset, boot.py, USB) and the Adafruit drivers'
     import and chip set-up, which run before and beside it.
   The wasm port runs on this machine's CPU; a board estimate scales by the ratio of one
   HMAC-SHA1 here to the 13.7 ms measured on CircuitPython 8.2.6 (design notes).
2. A simulated day through the real firmware in ``otpfob sim`` (board ``sim``, away from
   USB): 20 looks of 10 s spread over 24 h, each a press and 10 s of reading; the fake
   alarm module counts seconds awake, in light sleep and in deep sleep, the SSD1306 model
   the seconds it was lit. The same day with sleep turned off (a copy of the board file
   without SLEEP_MODES; the idle stretches after the panel went dark are jumped, the loop
   has nothing to do in them, and count as awake). Average current from the per-part
   figures in PARTS (docs/power.md gives their sources) and days on 500 / 1,200 mAh.

Run: ``.venv/bin/python -m bench.power`` (or ``make bench``).
"""

import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST_TOOLS = REPO / "host_tools"
FIRMWARE_LIB = REPO / "firmware" / "lib"
BOARDS = REPO / "boards"
for _p in (str(HOST_TOOLS),):
    if _p not in sys.path:
        sys.path.insert(0, _p)

# CircuitPython 8.2.6 on an RP2040 leaves about 170 KB at code.py start (design notes).
BOARD_HEAP = 170 * 1024
BOARD_HMAC_MS = 13.7  # pure SHA-1 HMAC with kept states, CircuitPython 8.2.6 (design notes)
ACCOUNTS = 20
LOOKS = 20
LOOK_SECONDS = 10
DAY = 86400
IDLE = 30

# Current of each part in each state, mA, with the source of each figure (docs/power.md).
# RP2040 chip figures: RP2040 datasheet Table 637 (typical averages, DVDD + IOVDD +
# USB_VDD); Pico board figures: pico-sdk pico_low_power/low_power.h (Pico from VSYS).
PARTS = {
    "mcu": {
        "raspberry_pi_pico": {"awake": 12.0, "light_sleep": 7.3, "deep_sleep": 0.76},
        "adafruit_feather_rp2040": {"awake": 12.0, "light_sleep": 0.39, "deep_sleep": 0.18},
        "adafruit_qtpy_rp2040": {"awake": 12.0, "light_sleep": 0.39, "deep_sleep": 0.18},
    },
    # SSD1315 Rev 1.1 Table 8-1 (the SSD1306's pin-compatible successor): IDD 0.24 mA and
    # ICC 0.625 mA typ. display on (no panel), ISEG 0.240 mA per lit segment at contrast
    # 0xFF (scaled to the driver's 0xCF), 1/64 duty; sleep ICC + IDD at most 0.010 each.
    "oled_off": 0.020,
    # DS3231 datasheet, electrical characteristics (VCC): ICCS standby at most 110 uA
    # at 3.63 V (I2C inactive); reads of a few ms each second are left out.
    "rtc": 0.110,
}
OLED_IDD = 0.240
OLED_ICC = 0.625
OLED_ISEG = 0.240 * (0xCF + 1) / 256
OLED_MUX = 64
OLED_VCC = 7.5  # the charge pump's 7.5 V mode
SUPPLY = 3.3  # the pump's input, from the board's 3.3 V rail (an ideal pump: a lower bound)
CELLS = (500, 1200)


def oled_on_ma(lit_pixels):
    """Display-on current for a frame with ``lit_pixels`` lit (see PARTS)."""
    vcc = OLED_ICC + OLED_ISEG * lit_pixels / OLED_MUX
    return OLED_IDD + vcc * OLED_VCC / SUPPLY


# -- wake latency on the 32-bit port ------------------------------------------------------

_STUBS = r"""
import gc, sys, time
T = time.ticks_ms
class _Dev:
    def __init__(self, fill=None):
        self.fill = fill
        self.sent = 0
    def __enter__(self):
        return self
    def __exit__(self, *a):
        return False
    def write(self, buf, start=0, end=None):
        self.sent += (len(buf) if end is None else end) - start
    def write_then_readinto(self, out, into, **kw):
        self.fill(into)
SKIP = [0]
def mono():
    return time.ticks_ms() / 1000 + SKIP[0]
def _bcd(v):
    return (v // 10) << 4 | v % 10
def _rtc_fill(r):
    from fob.clock import civil_from_epoch
    y, mo, d, h, mi, s, wd, yd = civil_from_epoch(1800000000 + int(mono()))
    vals = (s, mi, h, wd + 1, d, mo, y - 2000)
    for i in range(7):
        r[i] = _bcd(vals[i])
    for i in range(7, len(r)):
        r[i] = 0
class _Oled:
    def __init__(self):
        self.buffer = bytearray(1 + 128 * 8)
        self.i2c_device = _Dev()
    def poweron(self):
        pass
    def poweroff(self):
        pass
    def show(self):
        pass
class _Rtc:
    def __init__(self):
        self.i2c_device = _Dev(_rtc_fill)
class _Pin:
    value = True
    def __init__(self, pin=None):
        pass
    def deinit(self):
        pass
class _Dir:
    INPUT = 0
    OUTPUT = 1
class _Pull:
    UP = 1
class _DIO:
    DigitalInOut = _Pin
    Direction = _Dir
    Pull = _Pull
class _Board:
    BUTTON_A = BUTTON_B = BUTTON_C = 0
"""

_SEED = r"""
import os
try:
    os.mkdir("/state")
except OSError:
    pass
from fob.vault import Account, Vault
v = Vault("/state")
v.load()
v.add_many([Account("user%d" % i, "Service%d" % i,
                    bytes((i * 7 + j * 13 + 1) & 255 for j in range(20)))
            for i in range(N_ACCOUNTS)])
for name in [k for k in sys.modules if k.startswith("fob")]:
    del sys.modules[name]
v = None
gc.collect()
"""

_DEEP = r"""
t0 = T()
from fob.vault import Vault
from fob.display import Display
from fob.clock import Clock
from fob.buttons import Buttons
from fob.settings import Settings
from fob.ui import UI
from fob import hmac, otp
t1 = T()
vault = Vault("/state")
vault.load()
t2 = T()
display = Display(None, 128, 64, oled=_Oled())
clock = Clock(None, rtc=_Rtc(), monotonic=mono)
buttons = Buttons((("A", "BUTTON_A"), ("B", "BUTTON_B"), ("C", "BUTTON_C")), _Board, _DIO,
                  monotonic=mono)
settings = Settings("/state")
ui = UI(display, vault, clock, settings, buttons.names, monotonic=mono)
if hmac.native("sha1") is None:
    hmac.pure_module("sha1")
t3 = T()
ui.update()
t4 = T()
display.flush()
t5 = T()
assert ui.shown_code is not None
print("DEEP", t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)
"""

_LIGHT = r"""
from fob.vault import Vault
from fob.display import Display
from fob.clock import Clock
from fob.buttons import Buttons
from fob.settings import Settings
from fob.ui import UI
from fob import hmac, otp
vault = Vault("/state")
vault.load()
display = Display(None, 128, 64, oled=_Oled())
clock = Clock(None, rtc=_Rtc(), monotonic=mono)
buttons = Buttons((("A", "BUTTON_A"), ("B", "BUTTON_B"), ("C", "BUTTON_C")), _Board, _DIO,
                  monotonic=mono)
settings = Settings("/state")
ui = UI(display, vault, clock, settings, buttons.names, monotonic=mono)
ui.update()
display.flush()
key = otp.Key(vault.accounts[0].secret, "SHA1")
for run in range(RUNS):
    ui.powered = False      # asleep: the panel dark, the loop stopped
    display.power(False)
    SKIP[0] += 100          # the sleep's 100 s, seen by the monotonic clock
    gc.collect()
    t0 = T()
    for i in range(3):
        buttons.pins[i] = _DIO.DigitalInOut(0)
    ui.wake_from_sleep()
    ui.update()
    t1 = T()
    display.flush()
    t2 = T()
    assert ui.shown_code is not None
    h0 = T()
    for i in range(10):
        otp.totp(key, 1800000000 + i * 30, 6, 30)
    h1 = T()
    print("LIGHT", t1 - t0, t2 - t1, t2 - t0, (h1 - h0) / 10)
"""


def _wasm(script, heapsize=BOARD_HEAP):
    from otpfob.testing.mpy import run_wasm

    return run_wasm(script, heapsize=heapsize, hide=("hashlib",), timeout=600).check()


def _prologue():
    return _STUBS + _SEED.replace("N_ACCOUNTS", str(ACCOUNTS))


def wake_latency(runs=5):
    """Medians (ms) of the light and deep wake paths on the 32-bit port."""
    from otpfob.testing.mpy import wasm_available

    if not wasm_available():
        return None
    light = []
    out = _wasm(_prologue() + _LIGHT.replace("RUNS", str(runs * 3)))
    for line in out.stdout.splitlines():
        if line.startswith("LIGHT"):
            light.append([float(x) for x in line.split()[1:]])
    deep = []
    for _ in range(runs):
        out = _wasm(_prologue() + _DEEP)
        for line in out.stdout.splitlines():
            if line.startswith("DEEP"):
                deep.append([float(x) for x in line.split()[1:]])

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    return {
        "light": {
            "update": med(light, 0),
            "flush": med(light, 1),
            "total": med(light, 2),
            "hmac": med(light, 3),
            "runs": len(light),
        },
        "deep": {
            "imports": med(deep, 0),
            "vault": med(deep, 1),
            "setup": med(deep, 2),
            "first_code": med(deep, 3),
            "flush": med(deep, 4),
            "total": med(deep, 5),
            "runs": len(deep),
        },
    }


# -- a simulated day --------------------------------------------------------------------


def _board_without_sleep(folder):
    src = (BOARDS / "sim.py").read_text()
    lines = [ln for ln in src.splitlines() if not ln.startswith("SLEEP_MODES")]
    path = Path(folder) / "sim_awake.py"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _lit_pixels(fob, folder):
    from PIL import Image

    png = str(Path(folder) / "look.png")
    fob.screen_png(png)
    img = Image.open(png).convert("L")
    w, h = img.size
    return sum(1 for x in range(w) for y in range(h) if img.getpixel((x, y)) > 128)


def simulated_day(sleep=True, looks=LOOKS, look_seconds=LOOK_SECONDS, day=DAY):
    """Seconds in each power state, panel-lit seconds and the lit pixels of a look."""
    from otpfob.sim.harness import SimProcess

    gap = day / looks
    with tempfile.TemporaryDirectory() as folder:
        board = "sim" if sleep else _board_without_sleep(folder)
        with SimProcess(Path(folder) / "state", board=board, demo=True) as fob:
            fob.wait_for(lambda s: s["screen"] == "code", what="code screen")
            fob.ok("autopress off")
            fob.ok("usb off")
            fob.advance(IDLE + 5)  # start dark, as between looks
            start = fob.status()
            lit = []
            for _ in range(looks):
                fob.press("A")
                fob.advance(look_seconds / 2)
                lit.append(_lit_pixels(fob, folder))
                fob.advance(look_seconds / 2)
                rest = gap - look_seconds - 0.2
                if sleep:
                    fob.advance(rest)
                else:
                    fob.advance(IDLE + 2)
                    fob.ok("jump %.3f" % (rest - IDLE - 2))
            end = fob.status()
    seconds = {k: end["power_seconds"][k] - start["power_seconds"][k] for k in end["power_seconds"]}
    return {
        "seconds": seconds,
        "total": sum(seconds.values()),
        "lit_seconds": end["display_lit_seconds"] - start["display_lit_seconds"],
        "lit_pixels": statistics.median(lit),
        "boots": end["boots"] - start["boots"],
    }


def average_ma(day, board):
    mcu = PARTS["mcu"][board]
    total = day["total"]
    ma = sum(mcu[state] * s for state, s in day["seconds"].items()) / total
    lit = day["lit_seconds"] / total
    ma += lit * oled_on_ma(day["lit_pixels"]) + (1 - lit) * PARTS["oled_off"]
    ma += PARTS["rtc"]
    return ma


# Light-sleep windows before deep sleep to price (seconds): a press inside the window wakes
# from light sleep (a code in tens of ms) instead of deep sleep (a reset: about 1.5-3 s).
WINDOWS = (120, 300, 900, 1800, 3600)


def with_window(day, window, default=120):
    """The measured day with a light-sleep window of `window` s after each look instead of
    `default`: each look that slept moves that much from deep to light sleep (capped by
    the deep sleep there was). The looks here are spread evenly (one every 72 min), so no
    extra look lands in the window; what a clustered day gains is counted separately."""
    looks_slept = round(day["seconds"]["light_sleep"] / default) if default else 0
    shift = min((window - default) * looks_slept, day["seconds"]["deep_sleep"])
    out = dict(day)
    out["seconds"] = dict(day["seconds"])
    out["seconds"]["light_sleep"] += shift
    out["seconds"]["deep_sleep"] -= shift
    return out


def main():
    print(
        "Wake latency, 32-bit MicroPython (WebAssembly port), %d KiB heap, pure SHA-1, "
        "%d accounts, chips stubbed; medians in ms" % (BOARD_HEAP // 1024, ACCOUNTS)
    )
    lat = wake_latency()
    if lat is None:
        print("  (the WebAssembly port is not installed: make setup)")
    else:
        li, de = lat["light"], lat["deep"]
        scale = BOARD_HMAC_MS / li["hmac"] if li["hmac"] else 0
        print(
            "  light sleep: %.0f ms (wake + clock + HMAC + draw %.0f, send %.0f; one HMAC "
            "%.1f), %d runs" % (li["total"], li["update"], li["flush"], li["hmac"], li["runs"])
        )
        print(
            "  deep sleep:  %.0f ms (imports %.0f, vault read %.0f, set-up %.0f, first "
            "code + draw %.0f, send %.0f), %d runs"
            % (
                de["total"],
                de["imports"],
                de["vault"],
                de["setup"],
                de["first_code"],
                de["flush"],
                de["runs"],
            )
        )
        print(
            "  estimate for an RP2040 on CircuitPython 8.2.6 (x%.1f, the HMAC ratio): "
            "light %.0f ms, deep %.0f ms plus CircuitPython's start and the drivers"
            % (scale, li["total"] * scale, de["total"] * scale)
        )
    print()
    print(
        "A simulated day: %d looks of %d s over 24 h, away from USB (otpfob sim, fake "
        "alarm module)" % (LOOKS, LOOK_SECONDS)
    )
    days = {}
    for sleep in (True, False):
        d = simulated_day(sleep=sleep)
        days[sleep] = d
        s = d["seconds"]
        print(
            "  sleep %s: awake %.0f s, light sleep %.0f s, deep sleep %.0f s, panel lit "
            "%.0f s (%d lit pixels per look), code.py starts %d"
            % (
                "on " if sleep else "off",
                s["awake"],
                s["light_sleep"],
                s["deep_sleep"],
                d["lit_seconds"],
                d["lit_pixels"],
                d["boots"],
            )
        )
    print(
        "  display on with that screen: %.2f mA (off %.3f mA); DS3231 %.3f mA"
        % (oled_on_ma(days[True]["lit_pixels"]), PARTS["oled_off"], PARTS["rtc"])
    )
    for board in PARTS["mcu"]:
        on = average_ma(days[True], board)
        off = average_ma(days[False], board)
        print(
            "  %-24s sleep on %.2f mA: %s | sleep off %.2f mA: %s"
            % (
                board,
                on,
                ", ".join("%.1f d on %d mAh" % (c / on / 24, c) for c in CELLS),
                off,
                ", ".join("%.1f d on %d mAh" % (c / off / 24, c) for c in CELLS),
            )
        )
    print(
        "  the light-sleep window before deep sleep (board key SLEEP_DEEP_AFTER), priced on "
        "that day: days on %d mAh" % CELLS[0]
    )
    print("  %-24s %s" % ("window", " ".join("%8d s" % w for w in WINDOWS)))
    for board in PARTS["mcu"]:
        print(
            "  %-24s %s"
            % (
                board,
                " ".join(
                    "%8.1f d" % (CELLS[0] / average_ma(with_window(days[True], w), board) / 24)
                    for w in WINDOWS
                ),
            )
        )


if __name__ == "__main__":
    main()
