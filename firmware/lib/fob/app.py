# The fob's main loop: buttons and the clock drive the screens, the data channel drives
# the vault, and the display gets whatever changed.

import time

from fob import heap

APP = None  # the running App, for the simulator's status reports

LOOP_SLEEP = 0.02
# A pass of the loop that raises is tried again on the next; after this many failing
# passes in a row (a second or more) the fob reloads itself (supervisor.reload()), since
# what fails on every pass will not mend by itself. A part that stops answering on the
# bus (the RTC, the display) does not count: a reload cannot fix a loose wire and would
# cut the data channel, so the fob says what is missing, works without it and retries.
RELOAD_AFTER = 50
DISPLAY_RETRY = 1.0  # seconds between tries to start a panel that stopped answering
# The watchdog resets the board when the loop stops feeding it (a hang). RP2040 builds
# accept at most 8 s (the hardware's 8.39 s, rounded down); every pass of the loop must
# stay well under it.
WATCHDOG_TIMEOUT = 8
STARTUP_RETRY = 5.0  # seconds before a fob whose set-up failed starts again
HEAP_EVERY = 1.0  # seconds between two samples of the heap after requests (fob/heap.py)


def _hex(data):
    return "".join("%02x" % b for b in data)


class App:
    def __init__(self, cfg, i2c=None, data_port=None):
        import board

        from fob.vault import Vault

        # Set-up leaves garbage between the objects it keeps, and MicroPython's heap never
        # compacts: what is allocated late needs contiguous blocks that may no longer exist
        # even with enough memory free in total. So the largest blocks come first: the
        # vault's records (one block), then the display's two frame buffers.
        state_dir = getattr(cfg, "STATE_DIR", "/")
        self.vault = Vault(state_dir)
        self.vault.load()
        if i2c is None:
            import busio

            i2c = busio.I2C(getattr(board, cfg.I2C_SCL), getattr(board, cfg.I2C_SDA),
                            frequency=getattr(cfg, "I2C_FREQUENCY", 400000))
        self.cfg = cfg
        self.i2c = i2c
        from fob.display import Display

        self.display = Display(i2c, cfg.DISPLAY_WIDTH, cfg.DISPLAY_HEIGHT,
                               getattr(cfg, "DISPLAY_ADDRESS", 0x3C))
        from fob.clock import Clock

        self.clock = Clock(i2c, getattr(cfg, "RTC_ADDRESS", 0x68))
        from fob.buttons import Buttons

        self.buttons = Buttons(cfg.BUTTONS, board)
        from fob.settings import Settings

        self.settings = Settings(state_dir)
        from fob.ui import UI

        self.ui = UI(self.display, self.vault, self.clock, self.settings, self.buttons.names,
                     buttons=self.buttons)
        from fob import hmac

        if hmac.native("sha1") is None:
            # The pure SHA-1, which the first code of a default account needs, while a
            # large enough hole is still likely.
            hmac.pure_module("sha1")
        # A button held at power-on: the holder wants the USB drive and REPL back (to update
        # the firmware). That costs the accounts and the password, so ask first; and wait
        # for the hand to come off the buttons before any press counts as the answer.
        self._released = not _held(self.buttons)
        self._maintenance = None
        self.power = _power(cfg, board, self.buttons, self.ui)
        if not self._released and (self.power is None or not self.power.woke):
            from fob import update

            self._maintenance = update.ask(self.ui)
        self.failures = 0  # passes of the loop in a row that raised
        self._clock_lost = False
        self._display_lost = False
        self._display_retry = 0.0
        self.protocol = None
        self._answered = 0  # requests answered when the heap was last sampled, and when
        self._sampled = -HEAP_EVERY
        if data_port is None:
            try:
                import usb_cdc

                data_port = usb_cdc.data
            except (ImportError, AttributeError):
                data_port = None
        # The protocol (and its imports) waits for a host: a fob woken on a keyring shows
        # its code that much sooner.
        self._port = data_port
        self._listen()

    def _listen(self):
        port = self._port
        if port is None or self.protocol is not None:
            return
        try:
            if not port.connected:
                return
        except AttributeError:  # a port without a link state: always there
            pass
        from fob.protocol import Protocol

        self.protocol = Protocol(port, self.vault, self.clock, self.info(), presence=self.ui,
                                 settings=self.settings, linked=True)

    def info(self):
        from fob import version

        serial = ""
        try:
            import microcontroller

            serial = _hex(microcontroller.cpu.uid)
        except (ImportError, AttributeError):
            pass
        battery = self.power.battery if self.power is not None else None
        return {
            "battery": battery.info if battery is not None else None,
            "serial": serial,
            "firmware": version.FIRMWARE,
            "protocol": version.PROTOCOL,
            "board": getattr(self.cfg, "NAME", ""),
            "display": "%dx%d" % (self.cfg.DISPLAY_WIDTH, self.cfg.DISPLAY_HEIGHT),
            "buttons": list(self.buttons.names),
        }

    def step(self):
        """One pass of the loop; returns True when the display was redrawn.

        Each part runs guarded: an exception in one is reported and the others still run
        (the data channel keeps answering while the screen fails, and the other way
        round); repeated failures end in a reload (``RELOAD_AFTER``)."""
        ui = self.ui
        failed = None
        drawn = False
        try:
            events = self.buttons.poll()
            if self._released:
                for name, kind in events:
                    ui.handle(name, kind)
            else:
                # The press (or release) of the button held at power-on is never an
                # answer: events count from the first pass after the pins and the
                # debouncer are up.
                self._released = not (_held(self.buttons) or self.buttons.any_down())
        except Exception as e:
            failed = self._failed("Buttons", e)
        try:
            if self._maintenance is not None:
                from fob import update

                self._maintenance = update.step(self, self._maintenance)
            elif self.protocol is None:
                self._listen()
            else:
                self.protocol.poll()
                if self.protocol.requests != self._answered and not self.protocol.streaming:
                    # A request answered: the heap's low-water mark (fob/heap.py), at
                    # most once a second (a collection costs ms, and hosts may flood).
                    t = time.monotonic()
                    if t - self._sampled >= HEAP_EVERY:
                        self._answered = self.protocol.requests
                        self._sampled = t
                        heap.sample()
        except Exception as e:
            failed = self._failed("Data channel", e)
        # Sleep before the screen: after a wake the code goes on the panel in this pass,
        # not after the loop's sleep and one more pass.
        try:
            if self.power is not None and self.power.step():
                self._released = False  # the press that woke the fob is not an action
                start_watchdog()  # stopped for the sleep (fob/power.py)
        except Exception as e:
            failed = self._failed("Sleep", e)
        try:
            drawn = ui.update()
            if drawn and ui.powered:
                self.display.flush()
        except Exception as e:
            failed = self._failed("Screen", e)
        try:
            self._watch_parts()
        except Exception as e:
            failed = self._failed("Recovery", e)
        if failed is None:
            self.failures = 0
        else:
            self.count_failure(failed)
        return drawn

    def count_failure(self, part):
        """One more pass in a row that failed; reloads the fob after RELOAD_AFTER."""
        self.failures += 1
        if self.failures >= RELOAD_AFTER:
            try:
                print("%s failed %d times in a row: reloading" % (part, self.failures))
            except Exception:
                pass
            _reload()

    def _failed(self, part, e):
        # Said once per run of failures, not on every pass; saying it may itself run out
        # of memory, which must not end the loop.
        if self.failures == 0:
            try:
                print("%s error: %r" % (part, e))
            except Exception:
                pass
        return part

    def _watch_parts(self):
        """Say on the console when the RTC or the display stops or starts answering, and
        start a display that stopped again once a second (the UI shows the RTC's state)."""
        lost = self.clock.reason == "no_answer"
        if lost != self._clock_lost:
            self._clock_lost = lost
            print("Clock not answering \u2014 check the RTC wiring" if lost
                  else "Clock answering again")
        d = self.display
        if d.fault is None:
            return
        t = time.monotonic()
        if not self._display_lost:
            self._display_lost = True
            self._display_retry = t + DISPLAY_RETRY
            print("Display error: %r \u2014 check the display wiring" % (d.fault,))
        elif t >= self._display_retry:
            self._display_retry = t + DISPLAY_RETRY
            if d.recover():
                self._display_lost = False
                self.ui.redraw()
                print("Display answering again")

    def status(self):
        s = self.ui.status()
        s["display_bytes"] = self.display.bytes_sent
        # For the simulator's status only: a host never learns whether another is logged in.
        s["session"] = self.protocol is not None and self.protocol.session is not None
        # Parts that stopped answering on the bus, for the simulator and tests.
        s["faults"] = [name for name, down in (("rtc", self._clock_lost),
                                                ("display", self._display_lost)) if down]
        return s


def _power(cfg, board, buttons, ui):
    # Sleep and the battery gauge (fob/power.py), only where the board and the port have
    # them: elsewhere the module is not even loaded.
    if not (hasattr(cfg, "SLEEP_MODES") or hasattr(cfg, "BATTERY_PIN")):
        return None
    try:
        import alarm  # noqa: F401
    except ImportError:
        try:
            import analogio  # noqa: F401
        except ImportError:
            return None
    try:
        from fob.power import Power

        return Power(cfg, board, buttons, ui)
    except Exception:  # MemoryError on a full heap: the fob runs awake, as before
        return None


def _held(buttons):
    # The pins themselves (pulled up, pressed = low): no debounced state exists yet at
    # power-on.
    for pin in buttons.pins:
        if not pin.value:
            return True
    return False


def _reload():
    import supervisor

    supervisor.reload()


def start_watchdog():
    """The board's watchdog set to reset after WATCHDOG_TIMEOUT s unfed, or None where
    the port has none."""
    try:
        from microcontroller import watchdog as dog
        from watchdog import WatchDogMode
    except (ImportError, AttributeError):
        return None
    try:
        # Still on after a sleep where the port cannot stop it (CircuitPython 8.x, see
        # fob/power.py), and then it may not be set again.
        if dog.mode != WatchDogMode.RESET:
            dog.timeout = WATCHDOG_TIMEOUT
            dog.mode = WatchDogMode.RESET
    except (ValueError, TypeError, NotImplementedError, RuntimeError, OSError) as e:
        print("No watchdog: %r" % (e,))
        return None
    return dog


def main(cfg):
    global APP
    try:
        APP = App(cfg)
    except Exception as e:
        # A part missing at power-on (the display, the flash): say which, then start again.
        print("Start-up error: %r" % (e,))
        time.sleep(STARTUP_RETRY)
        _reload()
    app = APP
    # The first pass draws the code; then set-up's garbage (driver init, the vault's check
    # pass) between objects that stay is collected, which gives the loop's allocations
    # the holes back.
    try:
        app.step()
    except Exception:
        app.count_failure("The loop")
    import gc

    gc.collect()
    dog = start_watchdog()
    while True:
        try:
            if dog is not None:
                dog.feed()
            app.step()
        except Exception:
            # What the pass's own guards could not catch (memory ran out while reporting):
            # counted like any failed pass.
            app.count_failure("The loop")
        if app.protocol is None or not app.protocol.streaming:
            time.sleep(LOOP_SLEEP)
