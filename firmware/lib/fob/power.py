# Sleep between looks, and the battery gauge. When the display has gone dark, no button is
# down, nothing waits for the holder and no USB host is connected, the fob light-sleeps
# until a button press (CircuitPython's `alarm`); after DEEP_AFTER more seconds it
# deep-sleeps, and the press then restarts code.py. The entry shown last outlives deep
# sleep in alarm.sleep_memory (RAM that deep sleep keeps): no flash write per sleep.
# Privacy is in the settings file already, written only when it changes.
#
# Facts from CircuitPython's RP2040 port (ports/raspberrypi/common-hal/alarm/): a PinAlarm
# needs a free pin (so the buttons' DigitalInOuts are released first); level and edge
# alarms both work in light and deep (dormant) sleep; pull=True with value=False turns
# the pull-up on; sleep_memory is 256 bytes; after a deep-sleep wake, wake_alarm is a
# PinAlarm whose pin is None, so which button woke the fob is unknown.
import time

from micropython import const


try:
    import alarm
except ImportError:  # a port or build without alarm: the fob stays awake
    alarm = None

DEEP_AFTER = 120  # seconds of light sleep before deep sleep (board key SLEEP_DEEP_AFTER)
# Seconds of light sleep between two feeds of a watchdog that cannot be stopped (8 s timeout,
# fob/app.py): half of it, so a slow wake or a late timer still feeds in time.
FEED_EVERY = 4
BATTERY_EVERY = 60  # seconds between battery readings while awake

# alarm.sleep_memory layout (zero at power-up; kept through deep sleep).
_SM_MAGIC = const(0)  # two bytes, _MAGIC0 _MAGIC1, when the rest is this firmware's
_SM_INDEX = const(2)  # the entry shown last, u16 little-endian
_SM_COUNT = const(4)  # how many entries there were then, u16 (any change: the first entry)
_MAGIC0 = const(0x4F)
_MAGIC1 = const(0x46)

# Battery: volts at the cell (the ADC reading times the board's divider).
LOW_VOLTS = 3.5  # "Battery low" below this
EXTERNAL_VOLTS = 4.4  # above a full LiPo: USB or a charger powers the board
# A rough open-circuit curve of a LiPo cell, for the gauge only: (volts, percent).
_CURVE = ((3.3, 0), (3.6, 10), (3.7, 30), (3.8, 55), (3.9, 70), (4.0, 80), (4.1, 90),
          (4.2, 100))
_SAMPLES = const(8)
GAUGE_W = const(12)  # columns of the gauge in the label row's corner
LOW_SECONDS = 3  # "Battery low" stands in the label row this long after a wake
_ADC_FULL = const(65535)  # AnalogIn.value is scaled to 16 bits on every port


def _running_watchdog():
    """The board's watchdog if it stays on through a sleep, else None (stopped here, or
    none). CircuitPython 9.x and 10.x stop it with mode = None (10.x has no deinit());
    8.x refuses both once it is in RESET mode."""
    try:
        from microcontroller import watchdog
    except ImportError:
        return None
    if watchdog is None or watchdog.mode is None:
        return None
    try:
        watchdog.mode = None
        return None
    except Exception:
        pass
    try:
        watchdog.deinit()
        return None
    except Exception:
        return watchdog


def percent(volts):
    """The gauge's percentage for a cell voltage (0-100)."""
    if volts <= _CURVE[0][0]:
        return 0
    for i in range(1, len(_CURVE)):
        v1, p1 = _CURVE[i]
        if volts <= v1:
            v0, p0 = _CURVE[i - 1]
            return int(p0 + (p1 - p0) * (volts - v0) / (v1 - v0) + 0.5)
    return 100


class Battery:
    """The cell's voltage through the board's voltage-sense pin and divider."""

    def __init__(self, pin, divider):
        import analogio

        self._adc = analogio.AnalogIn(pin)
        self._scale = divider * self._adc.reference_voltage / _ADC_FULL
        # What hosts see (fob/commands.py's hello), updated in place.
        self.info = {"volts": None, "percent": None, "low": False, "external": False}

    def read(self):
        total = 0
        for _ in range(_SAMPLES):
            total += self._adc.value
        volts = total * self._scale / _SAMPLES
        info = self.info
        info["volts"] = int(volts * 100 + 0.5) / 100
        external = volts >= EXTERNAL_VOLTS
        info["external"] = external
        info["percent"] = None if external else percent(volts)
        info["low"] = not external and volts < LOW_VOLTS
        return info


class Power:
    def __init__(self, cfg, board, buttons, ui):
        modes = getattr(cfg, "SLEEP_MODES", ())
        self.light = alarm is not None and "light" in modes
        self.deep = alarm is not None and "deep" in modes
        self.deep_after = getattr(cfg, "SLEEP_DEEP_AFTER", DEEP_AFTER)
        self.buttons = buttons
        self.ui = ui
        self._board_pins = [getattr(board, pin) for _, pin in cfg.BUTTONS]
        self.state = "awake"
        self.sleeps = 0
        self._pins_out = False  # the buttons' DigitalInOuts released for the pin alarms
        self.battery = None
        self._battery_at = -BATTERY_EVERY
        self._percent = None
        self._low = False
        self._low_until = 0.0
        pin = getattr(cfg, "BATTERY_PIN", None)
        if pin:
            try:
                self.battery = Battery(getattr(board, pin), getattr(cfg, "BATTERY_DIVIDER", 2))
            except (ImportError, ValueError, AttributeError, OSError):
                self.battery = None
        self._supervisor = None
        try:
            import supervisor

            self._supervisor = supervisor
        except ImportError:
            pass
        # code.py restarted by a deep-sleep wake: the held button is the wake press (not a
        # request for update mode), and the entry shown before comes back.
        self.woke = alarm is not None and alarm.wake_alarm is not None
        if self.woke:
            self._restore()
        self._read_battery(time.monotonic())

    # -- what keeps the fob awake ----------------------------------------------------------
    def host(self):
        """True while a USB host is connected (enumerated, or the data channel open)."""
        sv = self._supervisor
        if sv is not None:
            try:
                if sv.runtime.usb_connected:
                    return True
            except AttributeError:
                pass
        try:
            import usb_cdc

            port = usb_cdc.data
            return port is not None and port.connected
        except (ImportError, AttributeError):
            return False

    def may_sleep(self):
        ui = self.ui
        if ui.powered or ui.prompt is not None or ui.notice is not None or ui.busy:
            return False
        return not self.buttons.any_down() and not self.host()

    # -- the loop's hook -------------------------------------------------------------------
    def step(self):
        """Once per loop pass. Sleeps when the fob may; returns True after a wake (the
        press that woke the fob may still be down, and is not an action)."""
        now = time.monotonic()
        if self.ui.powered and now - self._battery_at >= BATTERY_EVERY:
            self._read_battery(now)
        if not (self.light or self.deep) or not self.may_sleep():
            return False
        try:
            self._sleep()
        except Exception:  # a port that refuses a pin or a sleep: stay awake from now on
            self.light = self.deep = False
            self.state = "awake"
            try:
                self._reclaim()
            except Exception:
                pass
            return False  # the panel stays dark, as on a board without sleep
        self.sleeps += 1
        self._reclaim()
        self.ui.wake_from_sleep()
        now = time.monotonic()
        self._read_battery(now)
        if self._low:
            self._low_until = now + LOW_SECONDS
        return True

    def _sleep(self):
        # The RP2040's watchdog counts on in light sleep, and a sleep outlasts its 8 s.
        # Stopped first where the port can (the loop starts it again after the wake,
        # fob/app.py, and code.py does after a deep sleep); where it cannot, the light
        # sleep is cut into slices that end before it would fire, and it is fed between
        # them. Deep sleep stops the crystal, and the watchdog with it.
        dog = _running_watchdog()
        self._pins_out = True
        for io in self.buttons.pins:
            io.deinit()
        alarms = self._pin_alarms()
        if self.light:
            now = time.monotonic()
            deadline = now + self.deep_after if self.deep else None
            self.state = "light_sleep"
            while True:
                # A slice to feed the watchdog, or the whole sleep up to the deadline.
                feeding = dog is not None and (deadline is None or deadline - now > FEED_EVERY)
                until = now + FEED_EVERY if feeding else deadline
                if until is not None:
                    alarms.append(alarm.time.TimeAlarm(monotonic_time=until))
                woke = alarm.light_sleep_until_alarms(*alarms)
                if until is not None:
                    alarms.pop()
                if until is None or isinstance(woke, alarm.pin.PinAlarm):
                    self.state = "awake"
                    return
                if not feeding:
                    break  # the deep-sleep deadline
                dog.feed()
                now = time.monotonic()
            self.state = "awake"
        self._save()
        self.state = "deep_sleep"
        alarm.exit_and_deep_sleep_until_alarms(*alarms)  # does not return

    def _pin_alarms(self):
        out = []
        for pin in self._board_pins:
            # Level-triggered, so a press that starts while the fob falls asleep still
            # wakes it at once.
            out.append(alarm.pin.PinAlarm(pin, value=False, pull=True))
        return out

    def _reclaim(self):
        if not self._pins_out:
            return
        import digitalio

        pins = self.buttons.pins
        for i in range(len(pins)):
            io = digitalio.DigitalInOut(self._board_pins[i])
            io.direction = digitalio.Direction.INPUT
            io.pull = digitalio.Pull.UP
            pins[i] = io
        self._pins_out = False

    # -- state kept through deep sleep -----------------------------------------------------
    def _save(self):
        index, count = self.ui.shown()
        m = alarm.sleep_memory
        m[_SM_MAGIC] = _MAGIC0
        m[_SM_MAGIC + 1] = _MAGIC1
        m[_SM_INDEX] = index & 0xFF
        m[_SM_INDEX + 1] = index >> 8
        m[_SM_COUNT] = count & 0xFF
        m[_SM_COUNT + 1] = count >> 8

    def _restore(self):
        m = alarm.sleep_memory
        if len(m) < _SM_COUNT + 2 or m[_SM_MAGIC] != _MAGIC0 or m[_SM_MAGIC + 1] != _MAGIC1:
            return
        self.ui.restore(m[_SM_INDEX] | m[_SM_INDEX + 1] << 8,
                        m[_SM_COUNT] | m[_SM_COUNT + 1] << 8)

    # -- battery ---------------------------------------------------------------------------
    def _read_battery(self, now):
        self._battery_at = now
        if self.battery is None:
            return
        try:
            info = self.battery.read()
        except Exception:
            return
        low = info["low"]
        if low and not self._low:
            self._low_until = now + LOW_SECONDS
        self._percent = info["percent"]
        self._low = low
        ui = self.ui
        if self._percent is not None or low:
            ui.overlay = self.draw_gauge
            ui.overlay_room = GAUGE_W + 2 if self._percent is not None else 0
        else:
            ui.overlay = None
            ui.overlay_room = 0

    def draw_gauge(self, d, layout, x1, t):
        """The UI's overlay on the code screen: "Battery low" in the label row for a few
        seconds after a wake, and a cell filled in proportion, ending at column x1."""
        page = layout.label_page
        if self._low and t < self._low_until:
            d.clear_area(0, page, x1, page + 1)
            d.text("Battery low", 0, page, 0, x1)
        if self._percent is None:
            return
        x0 = x1 - GAUGE_W
        d.clear_area(x0 - 2, page, x1, page + 1)
        y0 = page * 8 + 1
        body = GAUGE_W - 2
        d.hline(x0, x0 + body, y0)
        d.hline(x0, x0 + body, y0 + 5)
        for y in range(y0, y0 + 6):
            d.pixel(x0, y)
            d.pixel(x0 + body - 1, y)
        d.pixel(x0 + body, y0 + 2)
        d.pixel(x0 + body, y0 + 3)
        fill = (body - 4) * self._percent // 100
        for x in range(x0 + 2, x0 + 2 + fill):
            d.pixel(x, y0 + 2)
            d.pixel(x, y0 + 3)
