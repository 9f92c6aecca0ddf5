"""The world's clock: real-speed virtual time, set(), and fast-forward of a running loop."""

import threading
import time

import pytest

from otpfob.sim.world import World, WorldStopped


def test_set_moves_the_date_but_not_monotonic(world, fake_clock):
    m0 = world.monotonic()
    world.set(2_000_000_000)
    assert world.now() == pytest.approx(2_000_000_000)
    assert world.monotonic() == m0
    fake_clock.t += 2.5
    assert world.now() == pytest.approx(2_000_000_002.5)
    assert world.monotonic() == pytest.approx(m0 + 2.5)


def test_sleep_without_fast_forward_sleeps_for_real(world, fake_clock):
    t0 = fake_clock.t
    world.sleep(0.25)
    assert fake_clock.t == pytest.approx(t0 + 0.25)
    with pytest.raises(ValueError):
        world.sleep(-1)


def test_skip_jumps_time_without_running_anything(world):
    n0, m0 = world.now(), world.monotonic()
    world.skip(86400)
    assert world.now() - n0 == pytest.approx(86400)
    assert world.monotonic() - m0 == pytest.approx(86400)


def test_advance_runs_every_tick_of_the_span_at_full_speed():
    w = World(epoch=1_800_000_000.0, lock=threading.Lock())
    ticks = []
    w.firmware_running = True

    def loop():
        try:
            while True:
                ticks.append(w.monotonic())
                w.sleep(0.05)
        except WorldStopped:
            pass

    t = threading.Thread(target=loop)
    t.start()
    try:
        time.sleep(0.1)
        n0, m0, real0, count0 = w.now(), w.monotonic(), time.monotonic(), len(ticks)
        w.advance(60)
        real = time.monotonic() - real0
        assert w.monotonic() - m0 >= 60
        assert w.now() - n0 == pytest.approx(60, abs=real + 0.1)
        # 60 s of 50 ms ticks, run in far less than 60 s of real time.
        assert len(ticks) - count0 >= 1190
        assert real < 20
        # Each tick saw time move by its sleep, not by the whole span at once.
        steps = [b - a for a, b in zip(ticks[count0:], ticks[count0 + 1 :], strict=False)]
        assert max(steps[:-1]) < 0.5
    finally:
        w.stop()
        t.join(5)
    assert not t.is_alive()


def test_advance_jumps_when_no_firmware_loop_runs():
    w = World(epoch=1_800_000_000.0)
    n0 = w.now()
    start = time.monotonic()
    w.advance(3600)
    assert time.monotonic() - start < 1
    assert w.now() - n0 == pytest.approx(3600, abs=0.5)


def test_advance_gives_up_waiting_on_a_loop_that_stopped_sleeping():
    w = World(epoch=1_800_000_000.0)
    w.firmware_running = True
    w.STALL_SECONDS = 0.2
    n0 = w.now()
    w.advance(10)
    assert w.now() - n0 == pytest.approx(10, abs=1)


def test_stop_raises_in_the_firmware_sleep_and_monotonic(world):
    world.stop()
    with pytest.raises(WorldStopped):
        world.sleep(0.01)
    with pytest.raises(WorldStopped):
        world.monotonic()
    # Not an Exception, so `except Exception` in firmware cannot swallow it.
    assert not issubclass(WorldStopped, Exception)
