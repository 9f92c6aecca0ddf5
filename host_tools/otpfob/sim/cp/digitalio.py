"""Fake ``digitalio``. Buttons are pins the simulator pulls low (active low with pull-up)."""

from otpfob.sim import cp as _cp


class _Const:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return self._name


class Direction:
    INPUT = _Const("digitalio.Direction.INPUT")
    OUTPUT = _Const("digitalio.Direction.OUTPUT")


class Pull:
    UP = _Const("digitalio.Pull.UP")
    DOWN = _Const("digitalio.Pull.DOWN")


class DriveMode:
    PUSH_PULL = _Const("digitalio.DriveMode.PUSH_PULL")
    OPEN_DRAIN = _Const("digitalio.DriveMode.OPEN_DRAIN")


class DigitalInOut:
    def __init__(self, pin):
        _cp.hw.claim(pin, self)
        self._pin = pin
        self._direction = Direction.INPUT
        self._pull = None
        self._drive_mode = DriveMode.PUSH_PULL
        self._deinited = False

    def _check(self):
        if self._deinited:
            raise ValueError(
                "Object has been deinitialized and can no longer be used. Create a new object."
            )

    def deinit(self):
        if not self._deinited:
            _cp.hw.release(self._pin, self)
            self._pin.output = None
            self._deinited = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
        return False

    def switch_to_input(self, pull=None):
        self._check()
        self._direction = Direction.INPUT
        self._pull = pull
        self._pin.output = None

    def switch_to_output(self, value=False, drive_mode=DriveMode.PUSH_PULL):
        self._check()
        self._direction = Direction.OUTPUT
        self._pull = None
        self._drive_mode = drive_mode
        self._pin.output = 1 if value else 0

    @property
    def direction(self):
        self._check()
        return self._direction

    @direction.setter
    def direction(self, value):
        if value is Direction.INPUT:
            self.switch_to_input()
        elif value is Direction.OUTPUT:
            self.switch_to_output()
        else:
            raise ValueError("Invalid direction")

    @property
    def pull(self):
        self._check()
        if self._direction is Direction.OUTPUT:
            raise AttributeError("Pull not used when direction is output.")
        return self._pull

    @pull.setter
    def pull(self, value):
        self._check()
        if self._direction is Direction.OUTPUT:
            raise AttributeError("Pull not used when direction is output.")
        if value is not None and value is not Pull.UP and value is not Pull.DOWN:
            raise ValueError("Invalid pull")
        self._pull = value

    @property
    def drive_mode(self):
        self._check()
        if self._direction is Direction.INPUT:
            raise AttributeError("Drive mode not used when direction is input.")
        return self._drive_mode

    @property
    def value(self):
        self._check()
        if self._direction is Direction.OUTPUT:
            return bool(self._pin.output)
        ext = self._pin.external
        if ext is not None:
            return bool(ext)
        if self._pull is Pull.UP:
            return True
        # Floating or pulled down: a firmware that forgot the pull-up sees its
        # active-low buttons as pressed, which is the failure to notice.
        return False

    @value.setter
    def value(self, v):
        self._check()
        if self._direction is Direction.INPUT:
            raise AttributeError("Cannot set value when direction is input.")
        self._pin.output = 1 if v else 0
