"""Pictures of the fob's screen for the docs, made by the simulator.

``python -m otpfob.screenshot docs/img`` (``make screenshot``) boots a headless simulator
with the demo account at a fixed time and saves the code screen at 1:1 (the OLED's own
pixels) and enlarged 4x for reading.
"""

import sys
import tempfile
from pathlib import Path

# 2026-11-28 12:00:02 UTC: two seconds into a period, so the ring is nearly full.
EPOCH = 1795867202


def make(outdir):
    from PIL import Image

    from otpfob.sim.harness import SimProcess

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as state, SimProcess(state, demo=True) as fob:
        fob.clock(EPOCH)
        fob.advance(1.5)
        fob.wait_for(lambda st: st["screen"] == "code" and st["code"], what="code screen")
        one = outdir / "code-screen.png"
        fob.screen_png(one)
    img = Image.open(one)
    big = img.convert("L").resize((img.width * 4, img.height * 4), Image.NEAREST)
    big.save(outdir / "code-screen-4x.png")
    return one


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
