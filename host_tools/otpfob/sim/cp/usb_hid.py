"""Fake ``usb_hid``: the HID devices a host would see, recording every report sent.

As on CircuitPython, ``devices`` holds the keyboard, mouse and consumer control unless
boot.py chose otherwise with ``enable(devices)`` or ``disable()``; both raise RuntimeError
outside boot.py. The choice is kept in the simulated hardware, so a reload (code.py again,
without boot.py) keeps it as a board does.

``Device.send_report`` checks the length as the real one does and appends the report to
``Device.reports``; keyboard reports also go, one hex line each, to
``<state>/.sim/usb_hid.txt``, so a test outside the simulator's process can read what the
fob typed (``otpfob.hid.read_log`` decodes it).
"""

from otpfob.sim import cp as _cp

LOG_NAME = "usb_hid.txt"
# Report descriptors are what the host parses; the fake has no host, so it keeps none.
_NO_DESCRIPTOR = b""


class Device:
    """``usb_hid.Device``: one HID interface with its usage and report lengths."""

    def __init__(
        self,
        *,
        report_descriptor=_NO_DESCRIPTOR,
        usage_page,
        usage,
        report_ids,
        in_report_lengths,
        out_report_lengths,
        name="",
    ):
        self.report_descriptor = bytes(report_descriptor)
        self.usage_page = usage_page
        self.usage = usage
        self.report_ids = tuple(report_ids)
        self.in_report_lengths = tuple(in_report_lengths)
        self.out_report_lengths = tuple(out_report_lengths)
        self.name = name
        self.reports = []
        self._received = None

    def send_report(self, report, report_id=None):
        if report_id is None:
            report_id = self.report_ids[0]
        if report_id not in self.report_ids:
            raise ValueError("report_id %r not in %r" % (report_id, self.report_ids))
        length = self.in_report_lengths[self.report_ids.index(report_id)]
        data = bytes(report)
        if len(data) != length:
            raise ValueError("Buffer incorrect size. Should be %d bytes." % length)
        self.reports.append(data)
        if self.usage_page == 0x01 and self.usage == 0x06:
            _log(data)

    def get_last_received_report(self, report_id=None):
        return self._received

    def __repr__(self):
        return "<usb_hid.Device %s>" % (self.name or "%d/%d" % (self.usage_page, self.usage))


# CircuitPython's built-in devices (report ids and lengths as its descriptors declare).
Device.KEYBOARD = Device(
    usage_page=0x01,
    usage=0x06,
    report_ids=(1,),
    in_report_lengths=(8,),
    out_report_lengths=(1,),
    name="KEYBOARD",
)
Device.MOUSE = Device(
    usage_page=0x01,
    usage=0x02,
    report_ids=(2,),
    in_report_lengths=(4,),
    out_report_lengths=(0,),
    name="MOUSE",
)
Device.CONSUMER_CONTROL = Device(
    usage_page=0x0C,
    usage=0x01,
    report_ids=(3,),
    in_report_lengths=(2,),
    out_report_lengths=(0,),
    name="CONSUMER_CONTROL",
)
_DEFAULT = (Device.KEYBOARD, Device.MOUSE, Device.CONSUMER_CONTROL)

devices = ()
_boot_device = 0


def _chosen():
    return getattr(_cp.hw, "usb_hid_devices", _DEFAULT)


def enable(devices, boot_device=0):
    hw = _cp.hw
    devices = tuple(devices)
    hw.usb_calls.append(
        ("usb_hid.enable", {"devices": [d.name for d in devices], "boot_device": boot_device})
    )
    if not hw.in_boot:
        raise RuntimeError("Cannot change USB devices now")
    for d in devices:
        if not isinstance(d, Device):
            raise ValueError("devices must be usb_hid.Device objects")
    hw.usb_hid_devices = devices
    _refresh()


def disable():
    enable(())


def get_boot_device():
    return _boot_device


def set_interface_name(name):
    if not _cp.hw.in_boot:
        raise RuntimeError("Cannot change USB devices now")


def _refresh():
    """Make ``devices`` what boot.py (or the default) enabled."""
    global devices
    devices = tuple(_chosen())


def _log(data):
    root = getattr(_cp.hw, "state_dir", None)
    if not root:
        return
    import os

    folder = root.rstrip("/") + "/.sim"
    try:
        os.mkdir(folder)
    except OSError:
        pass  # already there
    with open(folder + "/" + LOG_NAME, "a") as f:
        f.write("".join("%02x" % b for b in data) + "\n")
