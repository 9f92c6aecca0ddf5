"""The fob on the page draws and keeps time through JavaScript models of the SSD1306 and
the DS3231 (web/fob/). Fed the same I2C transactions, they must end where the
simulator's register-level models (otpfob.sim.ssd1306, otpfob.sim.ds3231) end: the same
display memory and visible image, the same register reads as time goes on."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from otpfob.sim.ds3231 import DS3231
from otpfob.sim.ssd1306 import SSD1306

HERE = Path(__file__).resolve().parent
EPOCH = 1_800_000_000.0

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js")

# What the Adafruit driver sends at start-up, then random traffic in every addressing mode.
INIT = [
    [0x00, 0xAE],
    [0x00, 0x20, 0x00],
    [0x00, 0x40],
    [0x00, 0xA1],
    [0x00, 0xA8, 0x3F],
    [0x00, 0xC8],
    [0x00, 0xD3, 0x00],
    [0x00, 0xDA, 0x12],
    [0x00, 0x8D, 0x14],
    [0x00, 0xAF],
]
COMMANDS = [
    [0x21, 0, 127],
    [0x22, 0, 7],
    [0x21, 10, 40],
    [0x22, 2, 5],
    [0x20, 0x00],
    [0x20, 0x01],
    [0x20, 0x02],
    [0xB3],
    [0x05],
    [0x12],
    [0xA6],
    [0xA7],
    [0xA4],
    [0xA5],
    [0x40 | 7],
    [0xD3, 5],
    [0xA8, 31],
    [0xA8, 63],
    [0xC0],
    [0xC8],
    [0xA0],
    [0xA1],
    [0x81, 0x10],
    [0x2E],
    [0xE3],
    [0x20, 0x03],
    [0xA8, 3],
]


def ssd1306_traffic(rng, n=400):
    out = list(INIT)
    for _ in range(n):
        r = rng.random()
        if r < 0.35:
            out.append([0x00] + rng.choice(COMMANDS))
        elif r < 0.45:
            # Co=1 pairs: one command or data byte each, and a command split across writes.
            out.append([0x80, rng.randrange(256), 0xC0, rng.randrange(256)])
        else:
            out.append([0x40] + [rng.randrange(256) for _ in range(rng.randint(1, 300))])
    return out


def ds3231_traffic(rng, n=120):
    steps = []
    t = EPOCH
    for _ in range(n):
        t += rng.choice([0.0, 0.3, 1.0, 59.7, 3600.0, 86400 * 40])
        r = rng.random()
        if r < 0.15:
            # A set of the time registers (as adafruit_ds3231 writes them), 12 h mode too.
            hour = rng.randrange(24)
            h = (
                (0x40 | (0x20 if hour >= 12 else 0) | int(str(hour % 12 or 12), 16))
                if rng.random() < 0.3
                else int(str(hour), 16)
            )
            steps.append(
                {
                    "at": t,
                    "write": [
                        0x00,
                        int(str(rng.randrange(60)), 16),
                        int(str(rng.randrange(60)), 16),
                        h,
                        rng.randint(1, 7),
                        int(str(rng.randint(1, 28)), 16),
                        int(str(rng.randint(1, 12)), 16) | (0x80 if rng.random() < 0.2 else 0),
                        int(str(rng.randrange(100)), 16),
                    ],
                }
            )
        elif r < 0.25:
            steps.append({"at": t, "write": [0x10, rng.randrange(256)]})  # aging offset
        elif r < 0.3:
            steps.append({"at": t, "write": [0x0F, rng.randrange(256)]})  # status
        elif r < 0.35:
            steps.append({"at": t, "write": [0x0E, rng.randrange(256)]})  # control
        elif r < 0.4:
            steps.append({"at": t, "write": [0x01, int(str(rng.randrange(60)), 16)]})
        else:
            steps.append(
                {
                    "at": t,
                    "read": [rng.choice([0, 0, 0, 3, 0x0E, 0x0F, 0x10, 0x11]), rng.randint(1, 19)],
                }
            )
    return steps


class World:
    def __init__(self):
        self.t = EPOCH

    def now(self):
        return self.t


def python_models(traffic, steps):
    panel = SSD1306(128, 64)
    for t in traffic:
        panel.i2c_write(bytes(t))
    world = World()
    rtc = DS3231(world)
    reads = []
    for s in steps:
        world.t = s["at"]
        if "write" in s:
            rtc.i2c_write(bytes(s["write"]))
        else:
            rtc.i2c_write(bytes(s["read"][:1]))
            reads.append(list(rtc.i2c_read(s["read"][1])))
    image = [v for row in panel.rows() for v in row]
    return {"gddram": list(panel.gddram), "image": image, "reads": reads}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_pages_chip_models_end_where_the_simulators_do(seed, tmp_path):
    rng = random.Random(seed)
    traffic, steps = ssd1306_traffic(rng), ds3231_traffic(rng)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"ssd1306": traffic, "ds3231": steps, "epoch": EPOCH}))
    res = subprocess.run(
        ["node", str(HERE / "chips.mjs"), str(spec)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr[-2000:]
    page = json.loads(res.stdout)
    python = python_models(traffic, steps)
    assert any(python["image"]) and len(python["reads"]) > 50
    assert page["gddram"] == python["gddram"]
    assert page["image"] == python["image"]
    for n, (a, b) in enumerate(zip(page["reads"], python["reads"], strict=True)):
        assert a == b, (n, a, b)
