# Adafruit QT Py RP2040. The STEMMA QT connector is I2C1 (SDA1/SCL1), so the DS3231 and a
# 128x32 SSD1306 breakout chain with STEMMA QT cables; two buttons on A0/A1 to GND.
NAME = "Adafruit QT Py RP2040"
I2C_SCL = "SCL1"
I2C_SDA = "SDA1"
I2C_FREQUENCY = 400000
DISPLAY_WIDTH = 128
DISPLAY_HEIGHT = 32
DISPLAY_ADDRESS = 0x3C
RTC_ADDRESS = 0x68
BUTTONS = (("A", "A0"), ("B", "A1"))
# Sleep: CircuitPython's alarm module on RP2040 (since 7.0) has light and deep sleep. No
# battery-sense pin on this board.
SLEEP_MODES = ("light", "deep")
# Light sleep (a press shows a code in tens of ms) for 15 minutes after a look before deep
# sleep (a wake is a reset: seconds): on this board's chip figures it costs 45.5 -> 42.0
# days on 500 mAh at 20 looks a day (make bench, bench.power; docs/power.md). The Pico's
# board draws 7.3 mA in light sleep, so it keeps the default 120 s.
SLEEP_DEEP_AFTER = 900
