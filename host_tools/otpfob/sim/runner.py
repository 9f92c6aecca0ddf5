"""Run a firmware folder (boot.py, then code.py) on the simulated board (CPython only).

The runner builds the world's clock, the I2C bus with the DS3231 and SSD1306 models, and
the fake CircuitPython modules; loads ``boards/<name>.py`` as ``fob_board`` with
``STATE_DIR`` pointing at the state folder; and runs the firmware in the calling thread.
The state folder plays the fob's flash: the vault files, and under ``.sim/`` the nvm, the
chip's unique id and the RTC's coin-cell state, so a restart continues like a board.
"""

import gc
import importlib.util
import json
import os
import secrets
import sys
import threading
import time
import traceback
from pathlib import Path

# Imported before the firmware runs: modules first imported while the fake `time` is
# installed would keep it for good.
from PIL import Image, PngImagePlugin  # noqa: F401

from otpfob import resources
from otpfob.sim import cp
from otpfob.sim.cp import micropython_stub
from otpfob.sim.cp.usb_cdc import BufferLink
from otpfob.sim.ds3231 import DS3231
from otpfob.sim.i2c import Bus
from otpfob.sim.ssd1306 import SSD1306
from otpfob.sim.world import World, WorldStopped

# The repository's folders in a checkout, the package's own copies in an installed wheel.
FIRMWARE_DIR = resources.firmware_dir()
BOARDS_DIR = resources.boards_dir()

PRESS_SECONDS = 0.1
SETTLE_SECONDS = 0.1
LONG_HOLD_SECONDS = 1.0  # longer than the firmware's long-press threshold
AUTOPRESS_POLL = 0.05  # real seconds between looks at the screen
# The firmware's yes: A held until the bar is full (fob/ui.py HOLD_SECONDS), and a little.
YES_HOLD_SECONDS = 1.8
HW_FILE = "hw.json"


def load_board(board, boards_dir=BOARDS_DIR):
    """The board file as a module named ``fob_board`` (``board`` is a name or a path)."""
    path = Path(board)
    if not path.suffix:
        path = Path(boards_dir) / (board + ".py")
    if not path.is_file():
        names = sorted(p.stem for p in Path(boards_dir).glob("*.py"))
        raise ValueError("unknown board %r (boards: %s)" % (board, ", ".join(names)))
    spec = importlib.util.spec_from_file_location("fob_board", str(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name in (
        "I2C_SCL",
        "I2C_SDA",
        "DISPLAY_WIDTH",
        "DISPLAY_HEIGHT",
        "DISPLAY_ADDRESS",
        "RTC_ADDRESS",
        "BUTTONS",
    ):
        if not hasattr(mod, name):
            raise ValueError("board file %s lacks %s" % (path, name))
    return mod


class StateStore:
    """The simulator's own files in ``<state>/.sim``."""

    def __init__(self, state_dir):
        self.root = Path(state_dir)
        self.dir = self.root / ".sim"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def uid(self):
        p = self.dir / "uid"
        if not p.exists():
            p.write_text(secrets.token_hex(8))
        return bytes.fromhex(p.read_text().strip())

    @property
    def nvm_path(self):
        return str(self.dir / "nvm.bin")

    def load_hw(self):
        p = self.dir / HW_FILE
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text())
        except ValueError:
            return None

    def save_hw(self, data):
        with self._lock:
            p = self.dir / HW_FILE
            tmp = p.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, p)


class Simulator:
    def __init__(
        self,
        state_dir,
        firmware_dir=None,
        board="sim",
        drift_ppm=None,
        data_link=None,
        console_link=None,
        boards_dir=BOARDS_DIR,
    ):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.firmware_dir = Path(firmware_dir or FIRMWARE_DIR).resolve()
        if not (self.firmware_dir / "code.py").is_file():
            raise ValueError("no code.py in firmware folder %s" % self.firmware_dir)
        # An installed otpfob carries the pinned drivers (None in a checkout); a firmware
        # folder's own lib/ (a CIRCUITPY drive's) still comes first, as on the board.
        self.drivers_dir = resources.drivers_dir()
        self.board_name = board
        self.board_cfg = load_board(board, boards_dir)
        self.board_cfg.STATE_DIR = str(self.state_dir)
        self.store = StateStore(self.state_dir)
        saved = self.store.load_hw() or {}

        self.world = World(
            epoch=time.time() + saved.get("world_offset", 0.0), lock=threading.Lock()
        )
        self.bus = Bus(lock=threading.RLock())
        self.rtc = DS3231(self.world)
        if "rtc" in saved:
            self.rtc.from_state(saved["rtc"])
        if drift_ppm is not None:
            self.rtc.set_drift(drift_ppm)
        self.display = SSD1306(self.board_cfg.DISPLAY_WIDTH, self.board_cfg.DISPLAY_HEIGHT)
        self.bus.attach(self.board_cfg.RTC_ADDRESS, self.rtc)
        self.bus.attach(self.board_cfg.DISPLAY_ADDRESS, self.display)
        self.rtc.on_change = lambda chip: self.save()
        self.save()

        self.data_link = data_link if data_link is not None else BufferLink(threading.Lock())
        self.console_link = console_link or BufferLink(threading.Lock(), connected=False)
        self.hw = cp.Hardware(
            self.world,
            self.bus,
            board_id=self.board_id(),
            state_dir=str(self.state_dir),
            uid=self.store.uid(),
            data_link=self.data_link,
            console_link=self.console_link,
        )
        self.hw.nvm_path = self.store.nvm_path
        self.hw.battery_pin = getattr(self.board_cfg, "BATTERY_PIN", None)
        self.hw.battery_divider = getattr(self.board_cfg, "BATTERY_DIVIDER", 2)
        self.display.clock = self.world.monotonic
        self.buttons = {}
        for name, pin in self.board_cfg.BUTTONS:
            self.buttons[name] = pin
        self.firmware_state = "starting"
        self.last_error = None
        self.boots = 0
        self._sleeps_at_code = 0
        self._quit = threading.Event()
        self._ops = threading.Lock()
        self._autopress = None  # the thread standing in for a user who approves prompts
        self._autopress_thread = None

    def board_id(self):
        return Path(self.board_name).stem

    # -- persistence -----------------------------------------------------------------------
    def save(self):
        self.store.save_hw(
            {"world_offset": self.world.now() - time.time(), "rtc": self.rtc.to_state()}
        )

    # -- operations for the control port and the terminal ---------------------------------
    def button_pin(self, name):
        if name not in self.buttons:
            raise ValueError(
                "unknown button %r (this board has %s)" % (name, ", ".join(sorted(self.buttons)))
            )
        return self.buttons[name]

    def press(self, name, seconds=PRESS_SECONDS):
        pin = self.button_pin(name)
        with self._ops:
            self.hw.press(pin)
            try:
                self.world.advance(seconds)
            finally:
                self.hw.release_button(pin)
            self.world.advance(SETTLE_SECONDS)
            self.save()

    def answer(self, yes, within=60.0):
        """Answer the question on the fob as its holder would: yes is A held until the bar
        is full, once the fob counts a hold (its first moment over, the question shown
        whole); no is a tap (B, or A on a one-button board). Waits in real time, as the
        world's clock runs. Raises ValueError when no question comes up within `within`
        seconds."""
        deadline = time.monotonic() + within
        while True:
            st = self.status()
            if st.get("screen") in ("presence", "confirm") and st.get("prompt_ready"):
                break
            if time.monotonic() >= deadline:
                raise ValueError("no question on the fob to answer")
            time.sleep(AUTOPRESS_POLL)
        if yes:
            self._hold_yes(st["screen"])
        else:
            self.press("B" if "B" in self.buttons else "A")

    def _hold_yes(self, screen):
        """A held in real time, as the world's clock runs, until the question on `screen`
        is gone (the bar full), as a holder lets go then. `press` would move the world on
        by the hold, and the fob's clock would end ahead of the host's (an add's code
        check then finds the fob's code of the next period). A button still down
        afterwards would keep the fob awake and count for whatever comes next."""
        self.set_button("A", True)
        until = time.monotonic() + YES_HOLD_SECONDS + 1.0
        try:
            while time.monotonic() < until and not self.quitting:
                time.sleep(AUTOPRESS_POLL)
                if self.status().get("screen") != screen:
                    break
        finally:
            self.set_button("A", False)
        time.sleep(SETTLE_SECONDS)

    def set_button(self, name, down):
        pin = self.button_pin(name)
        if down:
            self.hw.press(pin)
        else:
            self.hw.release_button(pin)

    def advance(self, seconds):
        with self._ops:
            self.world.advance(seconds)
            self.save()

    def jump(self, seconds):
        with self._ops:
            self.world.skip(seconds)
            self.save()

    def set_clock(self, epoch):
        with self._ops:
            self.world.set(epoch)
            self.rtc.set_epoch(epoch)
            self.save()

    def rtc_power_loss(self):
        with self._ops:
            self.rtc.power_loss()
            self.save()

    def i2c_fault(self, part, mode):
        """``part`` "rtc" or "display"; ``mode`` "on" (it stops acknowledging, like a loose
        wire), "off" (it answers again) or "glitch" (its next transaction fails once)."""
        address = {"rtc": self.board_cfg.RTC_ADDRESS, "display": self.board_cfg.DISPLAY_ADDRESS}[
            part
        ]
        with self.bus.lock:
            self.bus.set_fault(address, {"on": True, "off": False, "glitch": 1}[mode])

    def screen_png(self, path, scale=1):
        with self.bus.lock:
            img = self.display.render_image(scale)
        img.save(path, "PNG")
        return path

    def status(self):
        out = {"screen": None, "label": None, "code": None, "seconds_left": None}
        app_mod = sys.modules.get("fob.app")
        app = getattr(app_mod, "APP", None) if app_mod is not None else None
        if app is not None and hasattr(app, "status"):
            try:
                out.update(app.status())
            except Exception as e:  # a status bug must not take the control port down
                out["status_error"] = "%s: %s" % (type(e).__name__, e)
        if out["screen"] is None and not self.display.display_on:
            out["screen"] = "off"
        out.update(
            {
                "i2c_bytes": self.display.bytes_received,
                "i2c_transactions": self.display.transactions,
                "time": self.world.now(),
                "display_on": self.display.display_on,
                "rtc_time": self.rtc.epoch(),
                "rtc_lost_power": self.rtc.osf,
                "firmware": self.firmware_state,
                "error": self.last_error,
                "boots": self.boots,
                "sleeps": self.world.sleeps - self._sleeps_at_code,
                "board": self.board_id(),
                "buttons": sorted(self.buttons),
                "data_connected": self.data_link.up,
                # Bytes a host sent that the firmware has not read yet.
                "data_waiting": self.data_link.available(),
                # What a host plugged in would see: the REPL console and the CIRCUITPY drive.
                "usb_console": bool(self.hw.usb_console),
                "usb_drive": bool(self.hw.usb_drive),
                "usb_host": bool(self.hw.usb_host),
                "power": self.hw.power,
                "power_seconds": self.hw.power_totals(),
                "display_lit_seconds": self.display.lit_seconds(),
                "battery_volts": self.hw.battery_volts,
            }
        )
        return out

    # -- power (sim/cp/alarm.py) -----------------------------------------------------------
    def set_usb_host(self, on):
        """Plug the fob into a host (on) or carry it on a keyring (off)."""
        self.hw.usb_host = bool(on)

    def set_battery(self, volts):
        self.hw.battery_volts = None if volts is None else float(volts)

    def power_seconds(self):
        """Seconds spent awake, in light sleep and in deep sleep since start."""
        return self.hw.power_totals()

    def deep_sleep(self, alarms):
        """The board in deep sleep until one of ``alarms``; returns True for a real deep
        sleep (a reset: boot.py runs again), False for CircuitPython's pretend one."""
        from otpfob.sim.cp import alarm as alarm_mod

        hw = self.hw
        real = hw.true_deep_slept or not hw.usb_host
        hw.set_power("deep_sleep")
        self.world.firmware_running = True
        try:
            alarm_mod.wait(alarms)
        finally:
            self.world.firmware_running = False
            hw.set_power("awake")
        hw.true_deep_slept = hw.true_deep_slept or real
        # After a deep sleep the RP2040 port knows a pin woke it, not which one.
        hw.wake_alarm = alarm_mod.PinAlarm(None, value=False)
        return real

    # -- a user who approves every presence prompt (tests, batch provisioning demos) -------
    def set_autopress(self, on):
        """While on, a question a host's request puts on the fob is answered yes, as a
        holder standing by would: once the fob counts a hold (the question shown whole,
        its first moment over), A held until the bar is full."""
        if not on:
            self._autopress = None
            # A hold under way ends first: the holder's hand is off the button when this
            # returns, so the next press is the caller's own.
            thread = self._autopress_thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(YES_HOLD_SECONDS + 3)
            return
        if self._autopress is not None:
            return
        stop = threading.Event()
        self._autopress = stop
        thread = threading.Thread(target=self._autopress_loop, args=(stop,), daemon=True)
        self._autopress_thread = thread
        thread.start()

    @property
    def autopress(self):
        return self._autopress is not None

    def _autopress_loop(self, stop):
        while self._autopress is stop and not self.quitting:
            st = self.status()
            if st.get("screen") == "presence" and st.get("prompt_ready"):
                self._hold_yes("presence")
            time.sleep(AUTOPRESS_POLL)

    def request_quit(self):
        self._autopress = None
        self._quit.set()
        self.world.stop()

    @property
    def quitting(self):
        return self._quit.is_set()

    # -- running the firmware --------------------------------------------------------------
    def _install(self):
        saved = {}
        fakes = cp.modules(self.hw)
        fakes["fob_board"] = self.board_cfg
        try:
            import micropython  # noqa: F401
        except ImportError:
            fakes["micropython"] = micropython_stub
        for name, mod in fakes.items():
            saved[name] = sys.modules.get(name)
            sys.modules[name] = mod
        if not hasattr(gc, "mem_free"):
            # CPython has no heap figures; the MicroPython tier measures the real ones.
            gc.mem_free = lambda: 128 * 1024
            gc.mem_alloc = lambda: 0
        return saved

    def _uninstall(self, saved):
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod

    def _purge_firmware_modules(self):
        root = str(self.firmware_dir)
        for name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None) or ""
            if f.startswith(root):
                del sys.modules[name]

    def _exec(self, path):
        src = path.read_text()
        code = compile(src, str(path), "exec")
        exec(code, {"__name__": "__main__", "__file__": str(path)})

    def run(self):
        """Run the firmware until quit; returns the process exit code."""
        drivers = self.drivers_dir
        for p in ([str(drivers)] if drivers else []) + [
            str(self.firmware_dir),
            str(self.firmware_dir / "lib"),
        ]:
            if p in sys.path:
                sys.path.remove(p)
            sys.path.insert(0, p)
        do_boot = True
        woke = False
        self.hw.set_power("awake")
        while not self.quitting:
            self._purge_firmware_modules()
            if not woke:
                self.hw.wake_alarm = None
            woke = False
            saved = self._install()
            self.boots += 1
            self.world.firmware_running = True
            try:
                if do_boot:
                    self.hw.usb_console, self.hw.usb_data = True, False
                    self.hw.usb_drive = True
                    boot = self.firmware_dir / "boot.py"
                    if boot.is_file():
                        self.firmware_state = "boot"
                        self.hw.in_boot = True
                        try:
                            self._exec(boot)
                        finally:
                            self.hw.in_boot = False
                    cp.usb_cdc._refresh()
                # Sleeps counted from code.py on, so "sleeps > 0" means its loop is running.
                self._sleeps_at_code = self.world.sleeps
                self.firmware_state = "running"
                self._exec(self.firmware_dir / "code.py")
                self.firmware_state = "done"
            except WorldStopped:
                break
            except KeyboardInterrupt:
                self.request_quit()
                break
            except cp.ResetRequested:
                do_boot = True
                self._reset_hw()
                continue
            except cp.ReloadRequested:
                do_boot = False
                self._reset_hw()
                continue
            except cp.DeepSleepRequested as e:
                self.firmware_state = "deep_sleep"
                self._uninstall(saved)
                saved = {}
                self._reset_hw()
                try:
                    do_boot = self.deep_sleep(e.alarms)
                except WorldStopped:
                    break
                woke = True
                continue
            except BaseException as e:  # the firmware's crash, reported like the REPL does
                self.firmware_state = "crashed"
                self.last_error = "%s: %s" % (type(e).__name__, e)
                traceback.print_exc()
            finally:
                self.world.firmware_running = False
                self._uninstall(saved)
                sys.stdout.flush()
            # Code done (or crashed): the board idles until reset, like CircuitPython's
            # "Code done running" prompt.
            self._quit.wait()
        self.save()
        return 0

    def _reset_hw(self):
        self.hw.release_all()
        self.data_link.clear()
        for pin in self.hw.pins.values():
            pin.output = None
