"""A program on the laptop attacks the data channel of the simulated fob: it keeps the port
open, sends requests and never reads a reply. A real host's kernel holds some 64 KB for
a program that does not read and then stops taking the fob's bytes; the fob must go on
(screen, buttons, other requests) instead of waiting for it forever."""

import json
import socket
import time

import pytest

pytest.importorskip("otpfob.sim.harness")

HELLO = b'{"id":1,"cmd":"hello"}\n'


def _loop_passes(fob):
    return fob.status()["sleeps"]


def test_a_program_that_never_reads_does_not_stop_the_fob(sim_factory):
    fob = sim_factory(demo=True, autopress=False)
    deaf = socket.socket()
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    deaf.connect(fob.data_address)
    deaf.setblocking(False)
    # About 400 KB of replies asked for: far more than any buffer on the way holds.
    sent = 0
    for _ in range(600):
        try:
            deaf.send(HELLO)
        except BlockingIOError:
            break
        sent += 1
    assert sent == 600
    # Wait until the buffers on the way are full: the fob then writes to a host that
    # takes nothing more.
    time.sleep(4)
    t0, passes0, time0 = time.monotonic(), _loop_passes(fob), fob.status()["time"]
    time.sleep(3)
    elapsed = time.monotonic() - t0
    st = fob.status()
    # The main loop still runs (a write waits at most a moment once a pass, so several
    # passes a second) and the screen's clock moves.
    assert st["sleeps"] - passes0 > 3 * elapsed, (passes0, st["sleeps"], elapsed)
    assert st["time"] - time0 > elapsed - 1
    assert st["screen"] == "code"
    deaf.close()
    # A port closed and opened again is apart by at least a few of the fob's passes on
    # USB (the host's close, then the next open, each a USB transfer); here the next
    # program waits for the fob to pass a few times after the close came.
    fob.wait_for(lambda s: not s["data_connected"], what="the leave")
    passes = _loop_passes(fob)
    fob.wait_for(lambda s: s["sleeps"] > passes + 2, what="passes after the leave")
    # The next program on the port is answered.
    with socket.create_connection(fob.data_address, timeout=15) as s:
        f = s.makefile("rb")
        s.sendall(b'{"id":"me","cmd":"hello"}\n')
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            r = json.loads(f.readline())
            if r.get("id") == "me":
                break
        assert r["id"] == "me" and r["ok"] is True
