# The board of the fob on the web page: the simulator's (boards/sim.py, which the page
# serves beside this file as sim_board.py), with the stand-in modules of the page
# (otpfob's sim/mpy_stubs/simlink.py) and its chip models in JavaScript (web/fob/). No
# sleep and no battery: a page has no alarm module and no cell.
from sim_board import *  # noqa: F403 - the pins, the display and the buttons

NAME = "otpfob on a web page"
STATE_DIR = "/state"
del SLEEP_MODES, BATTERY_PIN, BATTERY_DIVIDER  # noqa: F821
