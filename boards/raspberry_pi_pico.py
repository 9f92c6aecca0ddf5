# Raspberry Pi Pico (RP2040). DS3231 and SSD1306 share I2C0 on GP4/GP5 (pins 6/7);
# buttons from GP15/GP14/GP13 (pins 20/19/17) to GND, using the internal pull-ups.
NAME = "Raspberry Pi Pico"
I2C_SCL = "GP5"
I2C_SDA = "GP4"
I2C_FREQUENCY = 400000
DISPLAY_WIDTH = 128
DISPLAY_HEIGHT = 64
DISPLAY_ADDRESS = 0x3C
RTC_ADDRESS = 0x68
BUTTONS = (("A", "GP15"), ("B", "GP14"), ("C", "GP13"))
# Sleep: CircuitPython's alarm module on RP2040 (since 7.0) has light and deep sleep.
SLEEP_MODES = ("light", "deep")
# The Pico measures VSYS through a 200k/100k divider on GP29 (board.VOLTAGE_MONITOR).
BATTERY_PIN = "VOLTAGE_MONITOR"
BATTERY_DIVIDER = 3
