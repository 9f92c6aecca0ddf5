"""Label strips on real MicroPython (unix port, and the 32-bit WebAssembly port): a strip
taken from a request, stored beside the vault, read back and drawn two pages high, with
the bar between issuer and name; the pieces of an import; a damaged file is no strip."""

import pytest

from otpfob.testing import mpy

SCRIPT = r"""
import os
from binascii import b2a_base64
from fob import label_store, labels
from fob.vault import Vault, Account
from fob.display import Display

try:
    os.mkdir("st")
except OSError:
    pass
v = Vault("st")
v.load()
top = bytes([(c * 7) & 0x7F | 1 for c in range(40)])
strip = top + bytes([(c * 3) & 0xFF for c in range(40)])
req = {"strips": [{"text": "Банк", "data": b2a_base64(strip).decode()}]}
held = label_store.whole(v, label_store.parse(req), ("Банк", "alice"))
label_store.put(v, held)
v.add(Account("alice", "Банк", b"0123456789"))
got = labels.load(v, "Банк")
print("stored", bytes(got) == strip)
# Pieces of a long one, as an import's parts send them.
long = bytes([(c * 5) & 0x7F | 1 for c in range(300)]) + bytes(300)
keys = []
now = [None]
for at in (0, 250, 500):
    item = ("東京", at, 600, long[at:at + 250])
    label_store.piece(v, item, keys, now)
print("pieces", bytes(labels.load(v, "東京")) == long)


class Panel:
    def __init__(self):
        self.buffer = bytearray(1 + 128 * 8)


d = Display(None, 128, 64, oled=Panel())
end = labels.draw(d, "Банк", "alice", (got, None), 0, 0, 0, 128)
print("drawn", bytes(d.buf[1:41]) == top, d.buf[1 + 42], d.buf[1 + 128 + 42], end)
p = labels.path(v.root, "Банк".encode())
raw = bytearray(open(p, "rb").read())
raw[-1] ^= 1
open(p, "wb").write(raw)
print("damaged", labels.load(v, "Банк") is None)
label_store.drop(v, label_store.keys_of([Account("x", "東京", b"0123456789")]))
print("dropped", labels.load(v, "東京") is None)
"""


def check(out):
    assert out[0] == "stored True" and out[1] == "pieces True", out
    assert out[2] == "drawn True 255 255 %d" % (40 + 6 + 5 * 6), out
    assert out[3:] == ["damaged True", "dropped True"], out


def test_strips_on_the_unix_port(tmp_path):
    check(mpy.run_unix(SCRIPT, heapsize=256000, cwd=str(tmp_path)).check().stdout.splitlines())


@pytest.mark.skipif(not mpy.wasm_available(), reason="no Node.js or WebAssembly port")
def test_strips_on_the_32_bit_port():
    check(mpy.run_wasm(SCRIPT).check().stdout.splitlines())
