# Runs once after a hard reset, before USB enumerates: USB interfaces and who may write the
# CIRCUITPY drive can only be chosen here, not from code.py.
import time

import board
import digitalio
import storage
import usb_cdc

# Pull-ups need a moment after the pin is configured before the level reads true.
_SETTLE_S = 0.02


def _update_button_held():
    """True when the board's first button is pressed at plug-in (active low)."""
    try:
        import fob_board

        pin = digitalio.DigitalInOut(getattr(board, fob_board.BUTTONS[0][1]))
    except Exception:
        # No (or a broken) board file means the firmware is not usable yet: leave the
        # drive to the host so it can be fixed.
        return True
    try:
        pin.direction = digitalio.Direction.INPUT
        pin.pull = digitalio.Pull.UP
        time.sleep(_SETTLE_S)
        return not pin.value
    finally:
        # boot.py must hand the pin back, or the button driver in code.py cannot claim it.
        pin.deinit()


# The data channel carries the provisioning protocol; it is separate from the REPL console
# so that console prints never corrupt protocol replies.
try:
    usb_cdc.enable(console=True, data=True)
except Exception:
    pass

# CircuitPython lets only one side write the FAT drive: two writers would corrupt it. The
# vault lives on that drive, so normally the firmware takes it (the host then sees it
# read-only). Holding the button while plugging in leaves it to the host for updates; the
# fob then shows codes but cannot store changes.
if not _update_button_held():
    try:
        storage.remount("/", readonly=False)
    except Exception:
        pass
