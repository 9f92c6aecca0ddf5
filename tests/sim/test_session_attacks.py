"""A second program on the fob's data channel, over raw TCP against `otpfob sim --headless`:
requests queued during and after a login, replays, reordered and foreign MACs, a partial
line left for the next program, newline and garbage floods, the power cut during the last
wrong password, and both password records damaged on flash.

The firmware runs unmodified; the logged-in host is otpfob's own client (or CLI).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from wires import Program

from fob.guard import Guard
from fob.vault import OsFS, Vault
from otpfob import auth
from otpfob.client import FobClient
from otpfob.transport import SerialTransport, open_port

OTPFOB = str(Path(sys.executable).with_name("otpfob"))
PASSWORD = "correct horse"
ITER = auth.ITERATIONS_MIN  # each login derives the key once; keep that quick here
DEMO = ["demo@example.com"]


class Recording(SerialTransport):
    """otpfob's transport, keeping every line the logged-in client sent."""

    def __init__(self, port):
        SerialTransport.__init__(self, port)
        self.sent = []

    def write_line(self, data):
        self.sent.append(bytes(data))
        SerialTransport.write_line(self, data)


def _client(fob):
    return FobClient(Recording(open_port(fob.data_url)), timeout=10.0)


def _with_password(sim_factory, **kwargs):
    fob = sim_factory(demo=True, **kwargs)
    with _client(fob) as c:
        c.password_set(PASSWORD, iterations=ITER)
    return fob


def _names(client):
    return [a["name"] for a in client.list()["accounts"]]


def _otpfob(url, *args, password=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPFOB_") or k == "OTPFOB_HOME"}
    if password:
        env["OTPFOB_PASSWORD"] = password
    return subprocess.run(
        [OTPFOB, "--port", url, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_a_second_program_on_the_port_of_a_logged_in_host_gets_nothing(sim_factory):
    fob = _with_password(sim_factory)
    client = _client(fob)
    client.login(PASSWORD)
    assert _names(client) == DEMO
    # The other program's bytes reach the fob in the same stream, between the host's
    # requests (as two writers on one tty do); the replies come back on it too.
    attacks = [
        {"id": "list", "cmd": "list"},
        {"id": "code", "cmd": "code", "index": 0},
        {"id": "add", "cmd": "add", "issuer": "Evil", "name": "x", "secret": "JBSWY3DPEHPK3PXP"},
        {"id": "clock", "cmd": "time_set", "time": 1_900_000_000},
        {"id": "settings", "cmd": "settings_set", "add_presence": False},
        {"id": "delete", "cmd": "delete", "index": 0},
    ]
    last_signed = client.transport.sent[-1]
    lines = [json.dumps(a).encode() for a in attacks]
    # A replay of the host's last request, a MAC for a counter the host has not used yet
    # (reordered), and a MAC made up by the other program.
    key, n = client.session
    lines.append(last_signed)
    lines.append(auth.sign_line(key, n + 5, b'{"id":"ahead","cmd":"list"}'))
    lines.append(b'{"id":"forged","cmd":"list","mac":"' + b"ab" * 32 + b'"}')
    client.transport.port.write(b"\n".join(lines) + b"\n")
    codes = {}
    for rid in [a["id"] for a in attacks] + [
        json.loads(last_signed[:-74] + b"}")["id"],
        "ahead",
        "forged",
    ]:
        r = client.transport.read_line(10)
        while r is not None and json.loads(r).get("id") != rid:
            r = client.transport.read_line(10)
        assert r is not None, rid
        codes[rid] = json.loads(r)["error"]["code"]
    assert set(codes.values()) == {"auth_required"}, codes
    # The host's session goes on, and nothing changed.
    assert _names(client) == DEMO
    info = client.info()
    assert info["logged_in"] is True and info["add_presence"] is True
    st = fob.status()
    assert st["screen"] == "code" and st["label"].endswith("demo@example.com")
    client.close()


def test_requests_queued_during_and_after_an_otpfob_login_get_auth_required(sim_factory):
    fob = _with_password(sim_factory)
    url = fob.data_url
    # The set-up's own connection must be gone first, or "connected" below could still be
    # its, and the other program would take the channel before otpfob.
    fob.wait_for(lambda st: not st["data_connected"], what="the set-up's client gone")
    result = {}
    run = threading.Thread(target=lambda: result.update(r=_otpfob(url, "list", password=PASSWORD)))
    run.start()
    fob.wait_for(lambda st: st["data_connected"], what="otpfob on the channel")
    # While otpfob runs, another program queues requests; the fob reads them once the
    # channel is its (the simulator serves one connection at a time, as a tty's bytes
    # from two writers end up in one stream).
    other = Program.connect(fob.data_address)
    other.send(
        b'{"id":1,"cmd":"add","issuer":"Evil","name":"x","secret":"JBSWY3DPEHPK3PXP"}\n'
        b'{"id":2,"cmd":"list"}\n{"id":3,"cmd":"settings_set","privacy":false}\n'
    )
    run.join(90)
    assert result["r"].returncode == 0, result["r"].stderr
    assert "demo@example.com" in result["r"].stdout
    for rid in (1, 2, 3):
        assert other.reply(rid)["error"]["code"] == "auth_required"
    assert other.call(4, "info")["logged_in"] is False
    other.close()
    with _client(fob) as c:
        c.login(PASSWORD)
        assert _names(c) == DEMO


def test_a_partial_line_is_not_glued_to_the_next_programs_request(sim_factory):
    fob = sim_factory(demo=True)
    glue = b'{"id":"glued","cmd":"delete","issuer":"","name":"demo@example.com","x":'
    # Program A leaves half a line and goes away; B's first request must stand alone.
    a = Program.connect(fob.data_address)
    a.send(glue)
    time.sleep(0.3)
    a.close()
    time.sleep(0.5)
    b = Program.connect(fob.data_address)
    assert b.call("b", "hello")["ok"] is True
    # The same on one connection after two seconds of silence.
    b.send(glue)
    # The fob must have read the half line before its clock moves on (under load it may
    # not have looked yet).
    time.sleep(0.3)  # the bytes reach the simulated port...
    fob.wait_for(lambda st: st["data_waiting"] == 0, what="the half line read")  # ...and the fob
    fob.advance(3)
    assert b.call("c", "info")["accounts"] == 1
    time.sleep(0.2)
    assert b"glued" not in b.buf
    b.close()


def test_after_a_newline_flood_and_a_megabyte_of_garbage_a_request_is_answered(sim_factory):
    fob = sim_factory(demo=True)
    p = Program.connect(fob.data_address)
    p.send(b"\n" * 10000 + b'{"id":"after-newlines","cmd":"hello"}\n')
    r = p.reply("after-newlines")
    assert r["ok"] is True
    assert p.buf == b""  # blank lines get no reply
    garbage = os.urandom(1 << 20) + b'\n{"id":"after-garbage","cmd":"info"}\n'
    # Sent from another thread while this one reads, as a host does: the fob answers
    # every garbage line, and would stall on a full socket nobody reads.
    sender = threading.Thread(target=p.send, args=(garbage,), daemon=True)
    sender.start()
    r = p.reply("after-garbage", timeout=60)
    sender.join(10)
    assert r["ok"] is True and r["accounts"] == 1
    p.close()


def _wrong_try(p, rid):
    begin = p.call("b%d" % rid, "auth_begin")
    p.send(
        json.dumps(
            {
                "id": rid,
                "cmd": "auth",
                "challenge": "00" * 16,
                "fob_challenge": begin["challenge"],
                "response": "00" * 32,
            }
        ).encode()
        + b"\n"
    )
    return begin


def _mtimes(state):
    out = {}
    for f in sorted(state.iterdir()):
        st = f.stat()
        out[f.name] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize("cut", ["at_once", "first_write", "second_write"])
def test_a_power_cut_during_the_eighth_wrong_try_never_erases_and_counts_the_try_or_not(
    sim_factory, tmp_path, cut
):
    state = tmp_path / "state"
    fob = _with_password(sim_factory, state_dir=state)
    p = Program.connect(fob.data_address)
    for rid in range(7):
        _wrong_try(p, rid)
        assert p.reply(rid)["error"]["code"] == "bad_password"
    begin = p.call("b7", "auth_begin")
    before = _mtimes(state)
    writes = {"at_once": 0, "first_write": 1, "second_write": 2}[cut]
    p.send(
        json.dumps(
            {
                "id": 7,
                "cmd": "auth",
                "challenge": "00" * 16,
                "fob_challenge": begin["challenge"],
                "response": "00" * 32,
            }
        ).encode()
        + b"\n"
    )
    seen = 0
    deadline = time.monotonic() + 10
    while seen < writes and time.monotonic() < deadline:
        now = _mtimes(state)
        seen += sum(1 for k in now if now[k] != before.get(k))
        before = now
    os.kill(fob.proc.pid, signal.SIGKILL)
    fob.kill()
    p.close()
    fob = sim_factory(state_dir=state)
    v = Vault(str(state))
    v.load()
    g = Guard(str(state), OsFS())
    # Nothing was erased, whatever the moment of the cut: the account and the password
    # are there, and the try was either not counted (one left) or counted (logins wait
    # for the holder).
    assert len(v.accounts) == 1 and g.has_password and g.status == "ok"
    assert g.tries in (0, 1), g.tries
    with _client(fob) as c:
        assert c.info()["password"] is True
        # Counted: the login waits for the holder's yes (the simulated holder gives it).
        r = c.login(PASSWORD)
        assert r["tries_left"] == 8 and r["failed"] == 8 - g.tries


def test_both_password_records_damaged_stay_locked_until_a_reset_with_a_press(
    sim_factory, tmp_path
):
    state = tmp_path / "state"
    fob = _with_password(sim_factory, state_dir=state)
    fob.stop()
    for name in ("guard_a.bin", "guard_b.bin"):
        data = bytearray((state / name).read_bytes())
        data[10] ^= 0xFF
        (state / name).write_bytes(bytes(data))
    damaged = {n: (state / n).read_bytes() for n in ("guard_a.bin", "guard_b.bin")}
    fob = sim_factory(state_dir=state)
    url = fob.data_url
    p = Program.connect(fob.data_address)
    for rid in range(3):
        assert p.call("i%d" % rid, "info")["password"] is True
        assert p.call("l%d" % rid, "list")["error"]["code"] == "auth_required"
        assert p.call("s%d" % rid, "settings_set", privacy=True)["error"]["code"] == "auth_required"
        assert p.call("a%d" % rid, "auth_begin")["error"]["code"] == "damaged"
    p.close()
    assert {n: (state / n).read_bytes() for n in damaged} == damaged
    # The reset (a press on the fob: the simulated user says yes) starts afresh.
    r = _otpfob(url, "reset", "--force")
    assert r.returncode == 0, r.stderr
    info = json.loads(_otpfob(url, "--json", "info").stdout)
    assert info["password"] is False and info["accounts"] == 0


def test_otpfob_logs_out_when_it_exits(sim_factory):
    # On a pty the link state never changes (as on a tty whose host keeps DTR up), so
    # only the client's own logout ends its session before the idle time.
    fob = sim_factory(demo=True, data="pty")
    with _client(fob) as c:
        c.password_set(PASSWORD, iterations=ITER)
    # A program that logs in and leaves without logging out leaves a live session...
    c = _client(fob)
    c.login(PASSWORD)
    c.transport.close()
    fob.advance(1)
    assert fob.status()["session"] is True
    # (and another program is not told that somebody is logged in)
    with _client(fob) as other:
        assert other.info()["logged_in"] is False
    # ...the CLI does not.
    r = _otpfob(fob.data_url, "list", password=PASSWORD)
    assert r.returncode == 0 and "demo@example.com" in r.stdout, r.stderr
    fob.advance(1)
    assert fob.status()["session"] is False
