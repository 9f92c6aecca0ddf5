"""The SSD1306 model driven by the real adafruit_ssd1306 driver over the emulated bus."""

import adafruit_ssd1306
import pytest
from PIL import Image

from otpfob.sim import ssd1306 as chip
from otpfob.sim.i2c import I2C, Bus


def rig(width=128, height=64):
    bus = Bus()
    model = bus.attach(0x3C, chip.SSD1306(width, height))
    i2c = I2C(bus)
    return model, adafruit_ssd1306.SSD1306_I2C(width, height, i2c), i2c


def send(i2c, data):
    i2c.try_lock()
    try:
        i2c.writeto(0x3C, bytes(data))
    finally:
        i2c.unlock()


@pytest.mark.parametrize("height", [64, 32])
def test_driver_init_sequence_is_accepted_and_configures_the_panel(height):
    model, oled, _ = rig(height=height)
    assert model.unknown_commands == []
    assert model.display_on
    assert model.multiplex == height
    assert model.mode == chip.MODE_HORIZONTAL
    assert model.seg_remap and model.com_remap
    assert model.contrast == 0xFF
    assert model.charge_pump
    assert model.com_pins == (0x12 if height == 64 else 0x02)
    assert model.lit_count() == 0


@pytest.mark.parametrize("height", [64, 32])
def test_pixels_land_in_gddram_and_in_the_image(height):
    model, oled, _ = rig(height=height)
    oled.pixel(0, 0, 1)
    oled.pixel(127, height - 1, 1)
    oled.pixel(5, 9, 1)
    oled.show()
    assert model.gddram[0] == 0x01  # page 0, column 0, bit 0
    assert model.gddram[(height // 8 - 1) * 128 + 127] == 0x80
    assert model.gddram[1 * 128 + 5] == 0x02  # row 9 = page 1, bit 1
    rows = model.rows()
    assert len(rows) == height and len(rows[0]) == 128
    lit = {(x, y) for y, r in enumerate(rows) for x, v in enumerate(r) if v}
    assert lit == {(0, 0), (127, height - 1), (5, 9)}


def test_fill_lights_every_pixel_and_png_matches(tmp_path):
    model, oled, _ = rig()
    oled.fill(1)
    oled.fill_rect(10, 20, 4, 3, 0)
    oled.show()
    assert model.lit_count() == 128 * 64 - 12
    path = model.render_png(str(tmp_path / "screen.png"))
    img = Image.open(path)
    assert img.size == (128, 64) and img.mode == "1"
    assert img.getpixel((0, 0)) and not img.getpixel((11, 21))
    assert img.convert("L").histogram()[255] == 128 * 64 - 12


@pytest.mark.parametrize("height, expected", [(64, 1037), (32, 525)])
def test_show_sends_six_commands_and_the_framebuffer(height, expected):
    # 6 two-byte command transactions (COLUMNADDR 0 127, PAGEADDR 0 pages-1) plus one
    # transaction of a 0x40 control byte and the 128 x pages framebuffer.
    model, oled, _ = rig(height=height)
    model.reset_counters()
    oled.show()
    assert model.bytes_received == expected == 12 + 1 + 128 * height // 8
    assert model.transactions == 7
    assert model.data_bytes == 128 * height // 8


def test_windowed_write_touches_only_its_window():
    model, oled, i2c = rig()
    oled.fill(0)
    oled.show()
    before = bytes(model.gddram)
    # Columns 10..13 on pages 2..3 in horizontal mode: 8 bytes fill the window, the 9th
    # wraps back to column 10 of page 2.
    send(i2c, [0x00, chip.CMD_COLUMN_ADDR, 10, 13, chip.CMD_PAGE_ADDR, 2, 3])
    send(i2c, [0x40] + [0xFF] * 8)
    changed = {i for i in range(len(before)) if model.gddram[i] != before[i]}
    window = {p * 128 + c for p in (2, 3) for c in range(10, 14)}
    assert changed == window
    send(i2c, [0x40, 0x0F])
    assert model.gddram[2 * 128 + 10] == 0x0F


def test_vertical_mode_fills_down_the_pages_first():
    model, _, i2c = rig()
    send(
        i2c,
        [
            0x00,
            chip.CMD_MEMORY_MODE,
            chip.MODE_VERTICAL,
            chip.CMD_COLUMN_ADDR,
            0,
            127,
            chip.CMD_PAGE_ADDR,
            0,
            7,
        ],
    )
    send(i2c, [0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert [model.gddram[p * 128] for p in range(8)] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert model.gddram[1] == 9


def test_page_mode_uses_page_start_and_column_nibbles():
    model, _, i2c = rig()
    send(i2c, [0x00, chip.CMD_MEMORY_MODE, chip.MODE_PAGE, 0xB5, 0x02, 0x17])
    send(i2c, [0x40, 0xAA, 0xBB])
    assert model.gddram[5 * 128 + 0x72] == 0xAA
    assert model.gddram[5 * 128 + 0x73] == 0xBB


def test_single_command_control_bytes_and_args_across_transactions():
    model, _, i2c = rig()
    # Co=1 pairs: each control byte is followed by exactly one byte.
    send(i2c, [0x80, chip.CMD_CONTRAST, 0x80, 0x42, 0x80, chip.CMD_INVERT])
    assert model.contrast == 0x42 and model.inverted
    # The argument may come in the next transaction, as the Adafruit driver sends it.
    send(i2c, [0x80, chip.CMD_CONTRAST])
    send(i2c, [0x80, 0x10])
    assert model.contrast == 0x10
    # Scroll set-up consumes its six argument bytes; deactivate is accepted.
    send(
        i2c,
        [0x00, chip.CMD_SCROLL_RIGHT, 0, 0, 0, 7, 0, 0xFF, chip.CMD_SCROLL_OFF, chip.CMD_NORMAL],
    )
    assert not model.inverted and not model.scrolling and model.unknown_commands == []


def test_display_off_invert_and_entire_on_change_the_image():
    model, oled, _ = rig()
    oled.pixel(3, 3, 1)
    oled.show()
    assert model.lit_count() == 1
    oled.invert(True)
    assert model.lit_count() == 128 * 64 - 1
    oled.invert(False)
    oled.poweroff()
    assert not model.display_on and model.lit_count() == 0
    oled.poweron()
    send(oled.i2c_device.i2c, [0x00, chip.CMD_ENTIRE_ON])
    assert model.lit_count() == 128 * 64
    send(oled.i2c_device.i2c, [0x00, chip.CMD_ENTIRE_ON_RESUME])
    assert model.lit_count() == 1


def test_rotation_flips_the_image():
    model, oled, _ = rig()
    oled.pixel(0, 0, 1)
    oled.show()
    oled.rotate(False)  # COM scan normal and no segment remap: 180 degrees
    rows = model.rows()
    assert rows[63][127] == 1 and rows[0][0] == 0


def test_multiplex_32_shows_only_the_first_32_rows_of_a_64_row_panel():
    model, oled, i2c = rig()
    oled.fill(1)
    oled.show()
    send(i2c, [0x00, chip.CMD_MULTIPLEX, 31])
    assert model.multiplex == 32
    assert model.lit_count() == 128 * 32


def test_start_line_scrolls_the_ram_rows():
    model, oled, i2c = rig()
    oled.pixel(0, 8, 1)
    oled.show()
    send(i2c, [0x00, chip.CMD_START_LINE | 8])
    assert model.rows()[0][0] == 1


def test_status_read_reports_display_off_bit():
    model, oled, i2c = rig()
    buf = bytearray(1)
    i2c.try_lock()
    i2c.readfrom_into(0x3C, buf)
    assert buf[0] & 0x40 == 0
    i2c.writeto(0x3C, bytes([0x80, chip.CMD_DISPLAY_OFF]))
    i2c.readfrom_into(0x3C, buf)
    assert buf[0] & 0x40
    i2c.unlock()


def test_text_render_and_counters_reset():
    model, oled, _ = rig(height=32)
    oled.pixel(1, 0, 1)
    oled.show()
    text = model.render_text()
    assert text.splitlines()[0].startswith(".#..")
    assert len(text.splitlines()) == 32
    model.reset_counters()
    assert (model.bytes_received, model.transactions) == (0, 0)
