"""The names some tests use for the in-process fob (fakes.Fob): a fob whose settings stay
in memory and that tells no board info, a clock that only moves when told, flash in
memory and a holder who answers as a test says."""

from fakes import FakeClock, FakePort, FakePresence, MemFS, Settings
from fakes import Fob as _Fob

T0 = 1800000000

Port = FakePort
# Flash: files in a dict that survive a 'restart' (a new Fob over the same Flash).
Flash = MemFS
# UTC that moves only when a test moves it.
Clock = FakeClock
# The person at the fob: `reply` True (yes), False (no) or None (never answers).
Holder = FakePresence

__all__ = ["T0", "Clock", "Flash", "Fob", "Holder", "Port", "Settings"]


def Fob(accounts=(), reply=True, flash=None, clock=None):  # noqa: N802 - stands for a class
    return _Fob(
        accounts, reply, flash=flash, clock=clock, info={}, memory_settings=True, see_time=False
    )
