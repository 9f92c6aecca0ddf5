# The fob's entry point: the board file is data, everything else is the fob package.
import fob_board
from fob.app import main

main(fob_board)
