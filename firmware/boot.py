# Runs once after a hard reset, before USB enumerates: which USB interfaces exist and who
# may write the CIRCUITPY drive can only be chosen here, not from code.py.
#
# Normally the fob shows a host only its data channel: no REPL console (which could read
# anything) and no drive (which holds the vault's files). The way back to both, for a
# firmware update, goes through code.py: a button held at plug-in asks on the screen to
# erase the accounts and the password, and only after that erase does code.py set the
# maintenance flag in nvm and reset into an unlocked boot. The flag lasts that one boot.
import microcontroller
import storage
import usb_cdc

# microcontroller.nvm byte holding the maintenance flag, and the value that sets it
# (anything else, such as erased flash's 0xFF, means a normal, locked boot).
NVM_MAINTENANCE = 0
MAINTENANCE = 0xA5


def _maintenance():
    try:
        nvm = microcontroller.nvm
        if nvm is None or nvm[NVM_MAINTENANCE] != MAINTENANCE:
            return False
        nvm[NVM_MAINTENANCE] = 0xFF
        return True
    except Exception:
        return False


def _typing_on():
    # Typing codes over USB HID is a setting (fob/settings.py's file, read without
    # importing it: boot.py should stay small).
    try:
        import fob_board

        root = getattr(fob_board, "STATE_DIR", "/")
        with open(root.rstrip("/") + "/fob_settings.txt", "r") as f:
            return "typing=1" in f.read()
    except Exception:
        return False


if _maintenance():
    # The accounts and the password were erased before the flag was set: the host gets
    # the REPL and a writable drive to update the firmware; the vault cannot be written.
    usb_cdc.enable(console=True, data=True)
else:
    try:
        usb_cdc.enable(console=False, data=True)
    except Exception:
        pass
    try:
        storage.disable_usb_drive()
    except Exception:
        pass
    # Only one side may write the FAT drive; with the drive hidden it is the fob.
    try:
        storage.remount("/", readonly=False)
    except Exception:
        pass

try:
    import usb_hid

    if _typing_on():
        usb_hid.enable((usb_hid.Device.KEYBOARD,))
    else:
        usb_hid.disable()
except Exception:
    pass
