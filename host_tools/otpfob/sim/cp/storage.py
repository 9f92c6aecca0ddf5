"""Fake ``storage``: calls are recorded (``calls``) and otherwise have no effect."""

from otpfob.sim import cp as _cp


def _record(name, args):
    _cp.hw.storage_calls.append((name, args))


def remount(mount_path, readonly=False, *, disable_concurrent_write_protection=False):
    _record(
        "remount",
        {
            "mount_path": mount_path,
            "readonly": readonly,
            "disable_concurrent_write_protection": disable_concurrent_write_protection,
        },
    )


def disable_usb_drive():
    _record("disable_usb_drive", {})
    _cp.hw.usb_drive = False


def enable_usb_drive():
    _record("enable_usb_drive", {})
    _cp.hw.usb_drive = True


def erase_filesystem(extended=None):
    _record("erase_filesystem", {"extended": extended})


def calls():
    return list(_cp.hw.storage_calls)
