# Adafruit Feather RP2040. SDA/SCL (GP2/GP3) are also the STEMMA QT connector, so a
# 128x64 SSD1306 breakout and the DS3231 chain with STEMMA QT cables; buttons on
# D9/D6/D5 to GND.
NAME = "Adafruit Feather RP2040"
I2C_SCL = "SCL"
I2C_SDA = "SDA"
I2C_FREQUENCY = 400000
DISPLAY_WIDTH = 128
DISPLAY_HEIGHT = 64
DISPLAY_ADDRESS = 0x3C
RTC_ADDRESS = 0x68
BUTTONS = (("A", "D9"), ("B", "D6"), ("C", "D5"))
# Sleep: CircuitPython's alarm module on RP2040 (since 7.0) has light and deep sleep. The
# Feather RP2040 routes no battery-sense divider to a pin, so it has no gauge.
SLEEP_MODES = ("light", "deep")
# Light sleep (a press shows a code in tens of ms) for 15 minutes after a look before deep
# sleep (a wake is a reset: seconds): on this board's chip figures it costs 45.5 -> 42.0
# days on 500 mAh at 20 looks a day (make bench, bench.power; docs/power.md). The Pico's
# board draws 7.3 mA in light sleep, so it keeps the default 120 s.
SLEEP_DEEP_AFTER = 900
