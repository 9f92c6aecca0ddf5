# The simulator's board: the same names, mapped by otpfob's fake `board` module onto an
# emulated I2C bus (DS3231 at 0x68, SSD1306 at 0x3C) and three emulated buttons.
NAME = "otpfob simulator"
I2C_SCL = "SCL"
I2C_SDA = "SDA"
I2C_FREQUENCY = 400000
DISPLAY_WIDTH = 128
DISPLAY_HEIGHT = 64
DISPLAY_ADDRESS = 0x3C
RTC_ADDRESS = 0x68
BUTTONS = (("A", "BUTTON_A"), ("B", "BUTTON_B"), ("C", "BUTTON_C"))
# Sleep through the simulator's fake alarm module, as on RP2040; a cell on a divider like
# the Pico's (the control port's `battery VOLTS` sets it; none at start).
SLEEP_MODES = ("light", "deep")
BATTERY_PIN = "VOLTAGE_MONITOR"
BATTERY_DIVIDER = 3
