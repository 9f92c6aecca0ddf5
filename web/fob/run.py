# The fob's loop on the page (web/fob/worker.js calls these from its timer): the firmware's
# modules are imported one per call, so the port's collector (which runs only between
# calls from JavaScript) gets the garbage of each before the next; then one pass of
# app.main()'s loop per call, time moved on by the real time since the last one.
import gc
import json
import sys
import time

import fob_board as cfg
import simlink

BOOT = ["fob.version", "fob.font", "fob.vault", "adafruit_ssd1306", "fob.display",
        "adafruit_ds3231", "fob.clock", "fob.buttons", "fob.settings", "fob.otp", "fob.hmac",
        "fob.ui", "fob.protocol", "fob.app"]
app = None


class Link:
    """usb_cdc.data on the page: simlink's data channel, and its link state ("connected",
    DTR on USB), up while the admin page holds the port open (web/fob/worker.js sets it).
    When it goes down the firmware drops what the page left unread and ends its session,
    as on USB."""

    connected = False

    @property
    def in_waiting(self):
        return simlink.in_waiting

    def read(self, size=1):
        return simlink.read(size)

    def write(self, buf):
        return simlink.write(buf)

    def reset_input_buffer(self):
        n = simlink.in_waiting
        while n:
            simlink.read(min(n, 4096))
            n = simlink.in_waiting


LINK = Link()
simlink.data = LINK


def link(up):
    LINK.connected = bool(up)


def seed(name, issuer, secret_hex, created):
    """One account through the firmware's own vault code, while the vault is empty."""
    from fob.vault import Account, Vault

    v = Vault(cfg.STATE_DIR)
    v.load()
    if not v.accounts:
        v.add(Account(name=name, issuer=issuer, secret=bytes.fromhex(secret_hex),
                      algorithm="SHA1", digits=6, period=30, created=created))


def tick(dt):
    """One step; 0 while booting, 1 after a pass, 2 when a long reply is half written
    (the next pass should come at once, as main() skips its sleep then)."""
    global app
    if BOOT:
        __import__(BOOT.pop(0))
        gc.collect()
        return 0
    if app is None:
        from fob.app import App

        app = App(cfg)
        gc.collect()
        return 0
    app.step()
    time.sleep(dt)
    return 2 if app.protocol is not None and app.protocol.streaming else 1


def status():
    return json.dumps(app.status()) if app is not None else "null"


def modules():
    return len(sys.modules)
