"""A flood at the data channel: 1,000 requests per simulated second, a mix of cheap valid
requests and garbage, while the code screen must still tick every second; afterwards the
fob answers every line in order and still gives the right code.

The firmware reads at most a few lines per 20 ms loop pass, so the screen keeps its
second; a host sending faster than that builds a queue, which the fob works off after the
flood. Simulated time only moves at the control port's `advance` (plus real time, which
the pacing counts too), so the flood is paced against the fob's own clock.

The simulator works through each simulated second's thousand requests on this machine's
processor, about a real second each when it is not busy; `make test` floods for 20
simulated seconds, `make soak` for ten minutes.
"""

import hashlib
import hmac
import json
import random
import socket
import struct
import threading
import time

import pytest

from otpfob.sim.harness import SimProcess

RATE = 1000  # requests per simulated second
DEMO_SECRET = b"12345678901234567890"  # otpfob sim --demo's public RFC 6238 test key


def totp(t, secret=DEMO_SECRET, digits=6, period=30):
    mac = hmac.new(secret, struct.pack(">Q", int(t) // period), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%0*d" % (digits, (struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 10**digits)


class Flood:
    """The host end of the data channel: writes request lines, reads every reply line."""

    def __init__(self, address, seed):
        self.rng = random.Random(seed)
        self.sock = socket.create_connection(address, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sent = 0  # request lines (every one must get exactly one reply)
        self.next_id = 1
        self.replies = []  # parsed replies, in arrival order
        self.bad = []  # reply lines that are not JSON objects
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buf = b""
        while not self._closed:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            parsed = []
            for line in lines:
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    if "pending" not in obj:  # a question to the holder, then the reply
                        parsed.append(obj)
                else:
                    self.bad.append(line[:200])
            with self._lock:
                self.replies.extend(parsed)

    @property
    def answered(self):
        with self._lock:
            return len(self.replies)

    def line(self):
        """One request line of the mix: mostly cheap valid requests, the rest garbage."""
        r = self.rng.random()
        rid = self.next_id
        self.next_id += 1
        if r < 0.45:
            req = {"id": rid, "cmd": "time_get"}
        elif r < 0.65:
            req = {"id": rid, "cmd": "hello"}
        elif r < 0.72:
            req = {"id": rid, "cmd": "code", "index": 0}
        elif r < 0.78:
            req = {"id": rid, "cmd": "list"}
        elif r < 0.84:
            req = {"id": rid, "cmd": "no_such_command"}
        elif r < 0.90:
            req = {"id": rid, "cmd": "add", "name": "x", "secret": "not base32!"}
        elif r < 0.995:
            junk = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 60)))
            return junk.replace(b"\n", b" ") + b"\n"
        else:
            return b"x" * 2100 + b"\n"  # over the line limit
        return json.dumps(req).encode() + b"\n"

    def send(self, n):
        if n <= 0:
            return
        data = b"".join(self.line() for _ in range(n))
        # A junk line that is all blanks gets no reply: count only lines that need one.
        self.sent += sum(1 for ln in data.split(b"\n")[:-1] if ln.strip())
        self.sock.sendall(data)

    def request(self, req):
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        self.sent += 1

    def close(self):
        self._closed = True
        try:
            self.sock.close()
        except OSError:
            pass


def flood_run(state, seconds, seed, drain_timeout):
    with SimProcess(state, demo=True, autopress=True) as fob:
        fob.wait_for(lambda st: st["screen"] == "code", what="the code screen")
        flood = Flood(fob.data_address, seed)
        # The holder lets computers read codes without a press (with a press, given by
        # the autopress), so the flood's code requests are answered, not asked about.
        flood.request({"id": "usb-codes", "cmd": "settings_set", "usb_codes": True})
        deadline = time.monotonic() + 30
        while not flood.answered:
            assert time.monotonic() < deadline, "usb_codes was not set"
            time.sleep(0.05)
        fob.ok("autopress off")
        try:
            st = fob.status()
            t0 = st["time"]
            last_left, last_bytes = st["seconds_left"], st["i2c_bytes"]
            ticks = 0
            overrun = 0.05
            real_start = time.monotonic()
            for second in range(seconds):
                if second % 10 == 9:
                    fob.press("A")  # a user now and then: the screen stays on
                # Enough lines that the rate since the start is RATE at the end of this
                # second. Simulated time also runs on in real time while the host sends
                # and polls, so aim past the second by twice what recent seconds overran.
                st = fob.status()
                step_start = st["time"]
                flood.send(int(RATE * (st["time"] - t0 + 1 + 2 * overrun)) - flood.sent)
                fob.advance(1)
                st = fob.status()
                overrun = max(0.02, st["time"] - step_start - 1, 0.8 * overrun)
                assert st["screen"] == "code" and st["display_on"], st
                assert st["seconds_left"] != last_left, "the screen missed a second: %s" % st
                assert st["i2c_bytes"] > last_bytes, "nothing drawn for a second: %s" % st
                # What is drawn is the code for the RTC's second (or the one before it,
                # drawn just before the tick).
                drawn = st["code"].replace(" ", "")
                assert drawn in (totp(st["rtc_time"]), totp(st["rtc_time"] - 1)), st
                last_left, last_bytes = st["seconds_left"], st["i2c_bytes"]
                ticks += 1
            # The flood's span: to the end of the last second it was paced for (the real
            # time the test's own polling adds after that carries no requests).
            flood_seconds = step_start + 1 - t0
            flood_real = time.monotonic() - real_start
            sent = flood.sent
            answered_during = flood.answered

            # Afterwards: a hello and a code, behind whatever is still queued.
            flood.request({"id": "after-hello", "cmd": "hello"})
            flood.request({"id": "after-code", "cmd": "code", "index": 0})
            drain_start = fob.status()["time"]
            deadline = time.monotonic() + drain_timeout
            while flood.answered < flood.sent:
                assert time.monotonic() < deadline, "%d of %d answered" % (
                    flood.answered,
                    flood.sent,
                )
                fob.advance(5)
            drain_seconds = fob.status()["time"] - drain_start
            time.sleep(0.2)  # any reply beyond one per line would show up now
            replies = list(flood.replies)
        finally:
            flood.close()
    assert sent >= RATE * flood_seconds, "only %.1f requests a second" % (sent / flood_seconds)
    assert not flood.bad, flood.bad[:3]
    assert replies[0]["id"] == "usb-codes" and replies[0]["ok"] is True
    replies = replies[1:]
    sent -= 1
    assert len(replies) == sent + 2
    # Answered in order: the ids of the valid requests come back rising.
    ids = [r["id"] for r in replies if isinstance(r.get("id"), int)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    hello, code = replies[-2], replies[-1]
    assert hello["id"] == "after-hello" and hello["ok"] is True and hello["accounts"] == 1
    assert code["id"] == "after-code" and code["ok"] is True
    entry = code["codes"][0]
    assert entry["code"] == totp(code["time"])
    errors = [r for r in replies if r.get("ok") is False]
    assert all(
        r["error"]["code"]
        in ("bad_json", "bad_request", "line_too_long", "unknown_command", "bad_secret")
        for r in errors
    )
    return {
        "seconds": round(flood_seconds, 1),
        "sent": sent,
        "rate": round(sent / flood_seconds, 1),
        "ticks_seen": ticks,
        "answered_during_flood": answered_during,
        "queue_drained_in_simulated_s": round(drain_seconds, 1),
        "flood_real_s": round(flood_real, 1),
    }


def _report(figures):
    print("flood: " + ", ".join("%s %s" % kv for kv in figures.items()))


@pytest.mark.slow
def test_flood_of_1000_requests_a_second_for_20_seconds_keeps_the_screen_ticking(tmp_path):
    figures = flood_run(tmp_path / "state", seconds=20, seed=1, drain_timeout=60)
    _report(figures)
    assert figures["ticks_seen"] == 20


@pytest.mark.soak
def test_soak_flood_for_ten_simulated_minutes(tmp_path):
    figures = flood_run(tmp_path / "state", seconds=600, seed=2, drain_timeout=900)
    _report(figures)
    assert figures["ticks_seen"] == 600
