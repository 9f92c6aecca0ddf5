"""Fake ``analogio``: ``AnalogIn`` on the board's voltage-sense pin reads the simulated
cell (``Hardware.battery_volts``, set by the control port's ``battery`` command) through
``fob_board.BATTERY_DIVIDER``; without a cell the board runs from USB, whose 5 V reach
the sense divider less a diode's drop (USB_VOLTS). Any other pin reads 0."""

from otpfob.sim import cp as _cp

REFERENCE = 3.3
USB_VOLTS = 4.7


class AnalogIn:
    def __init__(self, pin):
        _cp.hw.claim(pin, self)
        self._pin = pin
        self.reference_voltage = REFERENCE

    @property
    def value(self):
        hw = _cp.hw
        volts = hw.battery_volts
        if self._pin.name != getattr(hw, "battery_pin", None):
            return 0
        if volts is None:
            volts = USB_VOLTS
        raw = volts / hw.battery_divider / REFERENCE * 65535
        return max(0, min(65535, int(raw)))

    def deinit(self):
        _cp.hw.release(self._pin, self)
