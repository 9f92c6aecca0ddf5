# The heap's low-water mark, for hosts (info's "heap") and the test tier on real
# CircuitPython: the least free heap after a collection, taken at the fullest moments the
# firmware knows of: at the end of a request a host sent (fob/app.py), and in a vault
# write with everything it writes in RAM (fob/vault_edit.py). A collection and a count
# cost a few ms (CircuitPython 8.2.6 in the emulated RP2040: 2.8 ms and 7.2 ms with an
# almost empty heap; 9.2.8: 0.3 ms each), so they run only there, at most once a second
# for requests, never in the tick.
import gc

low = 0  # the least free bytes seen; 0 before the first sample
# None on a Python without MicroPython's gc counts (CPython, where tests run the firmware).
_count = getattr(gc, "mem_free", None)


def sample():
    """Collect, count the free heap and keep the lowest; the free bytes (None without
    MicroPython's counts)."""
    global low
    if _count is None:
        return None
    gc.collect()
    free = _count()
    if not low or free < low:
        low = free
    return free


def report():
    """info's "heap": free bytes now (after a collection) and the low-water mark."""
    free = sample()
    return None if free is None else {"free": free, "low": low}
