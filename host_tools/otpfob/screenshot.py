"""Pictures of the fob's screen for the docs, made by the simulator.

``python -m otpfob.screenshot docs/img`` (``make screenshot``) boots a headless simulator
with the demo secret under a label the fob's own font cannot draw (its strips rendered as
`otpfob add` renders them, otpfob/labels.py) at a fixed time and saves the code screen at
1:1 (the OLED's own pixels) and enlarged 4x for reading.
"""

import sys
import tempfile
from pathlib import Path

# 2026-11-28 12:00:02 UTC: two seconds into a period, so the ring is nearly full.
EPOCH = 1795867202
ISSUER, NAME = "東京銀行", "Jürgen"


def seed(state):
    """The demo account under a label of strips, stored with the firmware's own code."""
    from otpfob import labels
    from otpfob.resources import use_firmware
    from otpfob.sim.command import DEMO_SECRET

    use_firmware()
    from fob import label_store
    from fob.vault import Account, Vault

    v = Vault(str(state))
    v.load()
    v.add(Account(NAME, ISSUER, DEMO_SECRET))
    strips, _ = labels.plan([(ISSUER, NAME)])
    for text, strip in strips.items():
        label_store.write(v, text.encode(), label_store.finish(strip, text))


def make(outdir):
    from PIL import Image

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as state:
        seed(state)
        one = _shoot(state, outdir)
    img = Image.open(one)
    big = img.convert("L").resize((img.width * 4, img.height * 4), Image.NEAREST)
    big.save(outdir / "code-screen-4x.png")
    return one


def _shoot(state, outdir):
    from otpfob.sim.harness import SimProcess

    with SimProcess(state, demo=True) as fob:
        fob.clock(EPOCH)
        fob.advance(1.5)
        fob.wait_for(lambda st: st["screen"] == "code" and st["code"], what="code screen")
        one = outdir / "code-screen.png"
        fob.screen_png(one)
    return one


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
