"""Display over the simulator's SSD1306 model: what the panel holds equals the frame buffer,
and flushes send only the changed windows."""

import random

import driver_shims  # noqa: E402
import pytest

driver_shims.install()

from fob.display import Display  # noqa: E402
from otpfob.sim.i2c import I2C, Bus  # noqa: E402
from otpfob.sim.ssd1306 import SSD1306  # noqa: E402


def make(height=64):
    bus = Bus()
    model = bus.attach(0x3C, SSD1306(128, height))
    d = Display(I2C(bus), 128, height, 0x3C)
    d.flush()  # the first flush lights the panel
    model.reset_counters()
    return d, model


def test_the_panel_stays_dark_until_it_holds_the_first_frame():
    # After a deep-sleep wake the panel still holds the frame from before the sleep (an
    # old code): it must not be lit before the new frame is in it.
    bus = Bus()
    model = bus.attach(0x3C, SSD1306(128, 64))
    model.gddram[:] = bytes([0x5A]) * len(model.gddram)  # what it showed before
    d = Display(I2C(bus), 128, 64, 0x3C)
    assert not model.display_on
    # Nor did the driver's blank frame go out: the first frame is sent whole instead.
    assert bytes(model.gddram) == bytes([0x5A]) * len(model.gddram)
    d.big("123 456", 4, 2)
    d.flush()
    assert model.display_on and ram_matches(d, model)


def test_a_wake_lights_the_panel_only_after_the_new_frame_is_sent():
    d, model = make()
    d.big("111 111", 4, 2)
    d.flush()
    d.power(False)
    assert not model.display_on
    d.power(True)
    assert not model.display_on  # still the old code in the panel
    d.big("222 222", 4, 2)
    d.flush()
    assert model.display_on and ram_matches(d, model)


def ram_matches(d, model):
    n = d.pages * d.width
    return bytes(model.gddram[:n]) == bytes(d.buf[1 : 1 + n])


@pytest.mark.parametrize("height", [64, 32])
def test_flush_makes_panel_ram_equal_to_the_frame(height):
    d, model = make(height)
    d.text("GitHub:alice", 0, 0)
    d.big("123 456", 4, 1)
    d.flush()
    assert ram_matches(d, model)
    assert model.display_on


def test_unchanged_frame_sends_nothing():
    d, model = make()
    d.text("x", 0, 0)
    d.flush()
    model.reset_counters()
    assert d.flush() == 0
    assert model.bytes_received == 0


def test_one_pixel_sends_one_byte_window():
    d, model = make()
    d.pixel(77, 45)
    sent = d.flush()
    # 7 bytes of window commands and a data control byte plus the one changed byte.
    assert sent == 9
    assert model.bytes_received == 9
    assert model.ram_pixel(77, 45) == 1
    assert ram_matches(d, model)


def test_distant_changes_on_a_page_are_two_windows_close_ones_one():
    d, model = make()
    d.pixel(2, 0)
    d.pixel(120, 0)
    assert d.flush() == 2 * 9
    d.pixel(10, 8)
    d.pixel(13, 8)
    assert d.flush() == 8 + 4
    assert ram_matches(d, model)


def test_random_drawing_keeps_panel_in_sync_and_costs_less_than_full_frames():
    rng = random.Random(7)
    d, model = make()
    for _ in range(200):
        for _ in range(rng.randrange(1, 6)):
            d.pixel(rng.randrange(128), rng.randrange(64), rng.random() < 0.7)
        if rng.random() < 0.1:
            d.clear()
        d.flush()
        assert ram_matches(d, model)
    assert d.bytes_sent == model.bytes_received


def test_power_off_and_on_reach_the_panel():
    d, model = make()
    d.power(False)
    assert not model.display_on and not d.on
    d.power(True)
    assert d.on
    d.flush()  # the panel is lit by the flush after the wake
    assert model.display_on


def test_number_draws_like_text():
    d, _ = make()
    for n in (0, 7, 10, 29, 30, 120):
        d.clear()
        d.number(n, 10, 3, 3)
        a = bytes(d.buf)
        d.clear()
        d.text("%3d" % n, 10, 3)
        assert bytes(d.buf) == a, n


def test_text_is_clipped_to_its_columns():
    d, _ = make()
    d.text("WWWWWWWWWWWWWWWWWWWWWWWWWWW", -7, 0, 0, 60)
    row = d.buf[1:129]
    assert any(row[:60]) and not any(row[60:])
