"""The otpfob simulator: emulated I2C bus, DS3231 and SSD1306 models, world clock, fake
CircuitPython modules, the firmware runner, its control port and terminal front end.

The models (``i2c``, ``ds3231``, ``ssd1306``, ``world``) and ``cp`` also run under
MicroPython; the runner, control port, terminal and harness are CPython only.
"""
