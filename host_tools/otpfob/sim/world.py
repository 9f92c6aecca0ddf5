"""The simulated world's clock: virtual UTC that runs at real speed and can be fast-forwarded.

Virtual time = time since the world was created (real, plus every fast-forwarded span)
+ an epoch offset that ``set()`` moves. The firmware's monotonic clock is the first term
alone, so setting the world's date never makes it go backwards.

Fast-forward: ``advance(s)`` (from another thread) adds ``s`` to a pending span; the
firmware's ``sleep(d)`` then returns at once and moves virtual time by ``d`` instead of
sleeping, so the firmware loop runs every tick of the span at full speed. ``advance``
returns once the span is consumed.

Runs on CPython and MicroPython: no threading import here; the caller passes a lock
(anything with ``acquire``/``release``) when two threads share the world.
"""

import time as _time


def _default_real_clock():
    # MicroPython's unix port has no time.monotonic; ticks_ms is close enough for a sim.
    if hasattr(_time, "monotonic"):
        return _time.monotonic
    return lambda: _time.ticks_ms() / 1000.0


class _NoLock:
    def acquire(self, *args):
        return True

    def release(self):
        pass


class WorldStopped(BaseException):
    """Raised inside the firmware's sleep/monotonic once the simulator is asked to stop.

    A BaseException so that a firmware's ``except Exception`` cannot swallow it.
    """


class World:
    # How long advance() waits for the firmware to sleep before it jumps time itself
    # (a firmware stuck in a busy loop or not running must not hang the control port).
    STALL_SECONDS = 2.0

    def __init__(self, epoch=None, real_clock=None, real_sleep=None, wall_clock=None, lock=None):
        self._real = real_clock or _default_real_clock()
        self._real_sleep = real_sleep or _time.sleep
        self._lock = lock or _NoLock()
        wall = wall_clock or _time.time
        self._start = self._real()
        self._skipped = 0.0  # fast-forwarded seconds (written under the lock)
        self._pending = 0.0  # fast-forward still to consume
        self._sleeps = 0  # firmware sleep() calls, to tell a live loop from a stall
        self.stopping = False
        self.firmware_running = False
        self._offset = wall() if epoch is None else epoch

    # -- time ------------------------------------------------------------------------------
    def monotonic(self):
        """Seconds since the world started, counting fast-forwarded spans."""
        if self.stopping:
            raise WorldStopped()
        return self._real() - self._start + self._skipped

    def now(self):
        """Virtual UTC, epoch seconds (float)."""
        return self._real() - self._start + self._skipped + self._offset

    def set(self, epoch):
        """Move the world's date to ``epoch``; monotonic time is not affected."""
        self._lock.acquire()
        try:
            self._offset = epoch - (self._real() - self._start + self._skipped)
        finally:
            self._lock.release()

    @property
    def offset(self):
        """Virtual UTC minus monotonic time; persisted so a restart keeps the world's date."""
        return self._offset

    # -- sleeping and fast-forward ---------------------------------------------------------
    def sleep(self, seconds):
        """The firmware's time.sleep: real sleep, or an instant jump while fast-forwarding."""
        if self.stopping:
            raise WorldStopped()
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self._lock.acquire()
        try:
            self._sleeps += 1
            jump = self._pending if self._pending < seconds else seconds
            if jump > 0:
                self._pending -= jump
                self._skipped += jump
            rest = seconds - jump
        finally:
            self._lock.release()
        if jump > 0 and rest > 0:
            # The span ran out mid-sleep: the rest is slept for real.
            self._real_sleep(rest)
        elif jump <= 0:
            # Yield the CPU even on sleep(0) so other threads (control, data) get to run.
            self._real_sleep(seconds if seconds > 0 else 0.0001)
        if self.stopping:
            raise WorldStopped()

    def skip(self, seconds):
        """Jump virtual (and monotonic) time at once, without running the firmware loop."""
        self._lock.acquire()
        try:
            self._skipped += seconds
        finally:
            self._lock.release()

    def advance(self, seconds, poll=0.002):
        """Fast-forward ``seconds``; returns when the firmware loop has consumed them.

        Without a running firmware loop, or if the loop stops sleeping for
        STALL_SECONDS of real time, the rest of the span is jumped at once.
        """
        if seconds < 0:
            raise ValueError("cannot advance by a negative time")
        self._lock.acquire()
        try:
            self._pending += seconds
        finally:
            self._lock.release()
        last_sleeps = -1
        last_change = self._real()
        while True:
            self._lock.acquire()
            try:
                pending = self._pending
                sleeps = self._sleeps
            finally:
                self._lock.release()
            if pending <= 1e-9:
                return
            now = self._real()
            if sleeps != last_sleeps:
                last_sleeps = sleeps
                last_change = now
            if not self.firmware_running or now - last_change > self.STALL_SECONDS:
                self._lock.acquire()
                try:
                    self._skipped += self._pending
                    self._pending = 0.0
                finally:
                    self._lock.release()
                return
            self._real_sleep(poll)

    @property
    def sleeps(self):
        """How many times the firmware has called sleep()."""
        return self._sleeps

    @property
    def pending(self):
        return self._pending

    def stop(self):
        """Make the firmware's next sleep()/monotonic() raise WorldStopped."""
        self.stopping = True
