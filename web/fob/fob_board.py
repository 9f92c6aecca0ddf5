# The board of the fob on the web page: the simulator's names (boards/sim.py), served by
# the page's stand-in modules (otpfob's sim/mpy_stubs/simlink.py) and its chip models in
# JavaScript (web/fob/). No sleep and no battery: a page has no alarm module.
NAME = "otpfob on a web page"
I2C_SCL = "SCL"
I2C_SDA = "SDA"
I2C_FREQUENCY = 400000
DISPLAY_WIDTH = 128
DISPLAY_HEIGHT = 64
DISPLAY_ADDRESS = 0x3C
RTC_ADDRESS = 0x68
BUTTONS = (("A", "BUTTON_A"), ("B", "BUTTON_B"), ("C", "BUTTON_C"))
STATE_DIR = "/state"
