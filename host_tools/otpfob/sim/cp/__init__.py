"""Fake CircuitPython modules backed by the simulated hardware.

``Hardware`` holds what the fakes need (world clock, I2C bus, pins, USB links, state
folder); ``modules(hw)`` returns the fake modules by the names firmware imports, ready to
be put into ``sys.modules``. Written for CPython and MicroPython alike.
"""

hw = None


class ResetRequested(BaseException):
    """``microcontroller.reset()``: the board restarts (boot.py, then code.py)."""


class ReloadRequested(BaseException):
    """``supervisor.reload()``: code.py starts again, boot.py does not run."""


class DeepSleepRequested(BaseException):
    """``alarm.exit_and_deep_sleep_until_alarms()``: code.py ends; the board sleeps until
    one of ``alarms`` and then starts again (see sim/cp/alarm.py)."""

    def __init__(self, alarms):
        super().__init__("deep sleep")
        self.alarms = alarms


class Hardware:
    def __init__(
        self,
        world,
        bus,
        board_id="sim",
        state_dir=None,
        uid=None,
        data_link=None,
        console_link=None,
        nvm_size=4096,
    ):
        self.world = world
        self.bus = bus
        self.board_id = board_id
        self.state_dir = state_dir
        self.uid = uid or b"\x00" * 8
        self.data_link = data_link
        self.console_link = console_link
        self.nvm_size = nvm_size
        self.nvm_path = None
        self.pins = {}
        self.claimed = {}
        self.in_boot = False
        # USB interfaces as CircuitPython starts: console on, data channel off until
        # boot.py calls usb_cdc.enable(data=True).
        self.usb_console = True
        self.usb_data = False
        self.usb_drive = True  # CIRCUITPY shown to the host unless boot.py hides it
        self.usb_calls = []
        self.storage_calls = []
        self.reset_calls = []
        # microcontroller.watchdog of the running firmware (the fake microcontroller sets it).
        self.watchdog = None
        self.i2c_singleton = None
        # Sleep (sim/cp/alarm.py): the state, seconds spent in each, RAM kept through deep
        # sleep, the alarm that woke the board last. A host on USB until `usb off`.
        self.usb_host = True
        self.power = "awake"
        self.power_seconds = {"awake": 0.0, "light_sleep": 0.0, "deep_sleep": 0.0}
        self._power_since = None
        self.sleep_memory = bytearray(256)
        self.wake_alarm = None
        self.true_deep_slept = False
        # Cell voltage on the board's voltage-sense pin (analogio), None: nothing there.
        self.battery_volts = None

    def set_power(self, state):
        """Enter ``state``; the time since the last change goes to the previous one."""
        now = self.world.monotonic()
        if self._power_since is not None:
            self.power_seconds[self.power] += now - self._power_since
        self._power_since = now
        self.power = state

    def power_totals(self):
        out = dict(self.power_seconds)
        if self._power_since is not None:
            out[self.power] += self.world.monotonic() - self._power_since
        return out

    def pin(self, name):
        p = self.pins.get(name)
        if p is None:
            from otpfob.sim.cp.board import Pin

            p = Pin(name)
            self.pins[name] = p
        return p

    def claim(self, pin, owner):
        if pin in self.claimed:
            raise ValueError("%s in use" % pin.name)
        self.claimed[pin] = owner

    def release(self, pin, owner):
        if self.claimed.get(pin) is owner:
            del self.claimed[pin]

    def release_all(self):
        self.claimed = {}
        self.i2c_singleton = None

    # Buttons: a switch from the pin to GND; released means the pin is left floating.
    def press(self, pin_name):
        p = self.pin(pin_name)
        if p.external != 0:
            p.falls += 1
        p.external = 0

    def release_button(self, pin_name):
        p = self.pin(pin_name)
        if p.external == 0:
            p.rises += 1
        p.external = None


NAMES = (
    "board",
    "busio",
    "digitalio",
    "usb_cdc",
    "storage",
    "microcontroller",
    "supervisor",
    "time",
    "usb_hid",
    "alarm",
    "analogio",
    "watchdog",
)  # the modes of microcontroller.watchdog


def modules(hardware, names=NAMES):
    """Install ``hardware`` and return {module name: fake module} for ``names``.

    A subset imports only those fakes: under MicroPython they share the firmware's heap."""
    global hw
    hw = hardware
    out = {}
    for name in names:
        if name == "board":
            from otpfob.sim.cp import board as board_mod

            out[name] = board_mod.Board(hardware)
        elif name == "time":
            from otpfob.sim.cp import time_stub

            out[name] = time_stub
        elif name in NAMES:
            out[name] = __import__("otpfob.sim.cp." + name, None, None, (name,))
        else:
            raise ValueError("no fake module %r" % (name,))
    if "usb_cdc" in out:
        out["usb_cdc"]._refresh()
    if "usb_hid" in out:
        out["usb_hid"]._refresh()
    if "alarm" in out:
        out["alarm"]._refresh()
    if "microcontroller" in out:
        out["microcontroller"]._load_nvm()
    return out
