"""The management password, the retry counter and the presence policy, end to end between
the host client (otpfob.client / otpfob.auth) and the firmware's protocol (fob.protocol,
fob.guard) running in-process over a fake port and an in-memory flash."""

import base64
import json

import pytest
from fob import guard
from fob.vault import Account
from otpfob import auth
from otpfob.client import FobClient, FobError
from test_protocol import SECRET, T0, Fob

ITER = auth.ITERATIONS_MIN   # keeps each login to a few milliseconds here


class LoopTransport:
    """The client's transport, wired straight into an in-process fob."""

    def __init__(self, fob):
        self.fob = fob
        self.lines = []
        self.sent = []
        self.received = []

    def write_line(self, data):
        self.sent.append(bytes(data))
        self.fob.port.inbox += bytes(data) + b"\n"

    def read_line(self, timeout):
        for _ in range(20000):
            if self.lines:
                line = self.lines.pop(0)
                self.received.append(line)
                return line
            self.fob.proto.poll()
            out = self.fob.port.take()
            if out:
                self.lines.extend(out.splitlines())
            elif not self.fob.proto.pending and not self.fob.port.inbox:
                return None
        return None

    def close(self):
        pass


def make(accounts=(), presence=True):
    fob = Fob(accounts, presence=presence)
    link = LoopTransport(fob)
    return fob, link, FobClient(link, timeout=1.0)


def acc(name):
    return Account(name, "Example", SECRET)


def with_password(password="correct horse", accounts=()):
    fob, link, client = make(accounts)
    client.password_set(password, iterations=ITER)
    return fob, link, FobClient(link, timeout=1.0)


def test_no_password_means_everything_is_open():
    fob, link, client = make([acc("a")])
    info = client.info()
    assert info["password"] is False and info["tries_left"] == guard.TRIES
    assert len(client.list()["accounts"]) == 1


def test_set_password_needs_a_press_and_then_locks_all_but_hello_and_info():
    fob, link, client = make([acc("a")])
    prompts = []
    client.on_prompt = prompts.append
    client.password_set("correct horse", iterations=ITER)
    assert prompts == ["Set password?"] and fob.presence.prompts == ["Set password?"]
    other = FobClient(link, timeout=1.0)
    info = other.info()
    assert info["password"] is True and info["tries_left"] == guard.TRIES
    other.hello()
    for call in (other.list, other.time_get, lambda: other.code(0),
                 lambda: other.add(acc("b")), lambda: other.delete(0),
                 lambda: other.aging_get(), other.selftest):
        with pytest.raises(FobError) as e:
            call()
        assert e.value.code == "auth_required"
    assert len(fob.vault.accounts) == 1


def test_login_opens_the_fob_and_both_sides_prove_the_key():
    fob, link, client = with_password(accounts=[acc("a")])
    reply = client.login("correct horse")
    assert reply["tries_left"] == guard.TRIES
    assert [a["name"] for a in client.list()["accounts"]] == ["a"]
    assert client.code(0)["codes"][0]["code"]


def test_nothing_on_the_wire_reveals_the_key_or_replays():
    fob, link, client = make()
    client.password_set("correct horse", iterations=ITER)
    client.login("correct horse")
    key = fob.proto.guard.key
    salt = fob.proto.guard.salt
    assert key == auth.derive_key("correct horse", salt, ITER)
    # The first password is the one time the key crosses the wire: a fob without a
    # password has nothing to mask it with (docs/security.md says so).
    first = [json.loads(x) for x in link.sent if b"password_set" in x][0]
    assert first["key"] == key.hex()
    link.sent.clear()
    link.received.clear()
    client.password_set("battery staple", iterations=ITER)
    new_key = fob.proto.guard.key
    wire = b"".join(link.sent + link.received)
    for k in (key, new_key):
        assert k.hex().encode() not in wire and k not in wire
    assert b"correct horse" not in wire and b"battery staple" not in wire
    # A recorded login answer is worthless: the fob's challenge is fresh each time.
    fresh = FobClient(link, timeout=1.0)
    begin = fresh.request("auth_begin")
    host_nonce = auth.new_nonce()
    good = auth.host_proof(new_key, bytes.fromhex(begin["challenge"]), host_nonce)
    fresh.request("auth", challenge=host_nonce.hex(), response=good.hex())
    fresh.request("auth_begin")
    with pytest.raises(FobError) as e:
        fresh.request("auth", challenge=host_nonce.hex(), response=good.hex())
    assert e.value.code == "bad_password"


def test_a_fob_that_does_not_know_the_key_is_caught():
    fob, link, client = with_password()
    real = link.read_line

    def forged(timeout):
        line = real(timeout)
        if line and b'"response"' in line and b"tries_left" in line:
            reply = json.loads(line)
            reply["response"] = "00" * 32
            line = json.dumps(reply).encode()
        return line

    link.read_line = forged
    with pytest.raises(FobError) as e:
        client.login("correct horse")
    assert e.value.code == "not_authentic"


def test_wrong_passwords_count_down_and_the_eighth_wipes_everything():
    fob, link, client = with_password(accounts=[acc("a"), acc("b")])
    key = fob.proto.guard.key
    assert any(key in bytes(f) for f in fob.fs.files.values())
    for left in range(guard.TRIES - 1, 0, -1):
        with pytest.raises(FobError) as e:
            client.login("wrong")
        assert e.value.code == "bad_password"
        assert "%d tries left" % left in e.value.message
        assert client.info()["tries_left"] == left
    with pytest.raises(FobError) as e:
        client.login("wrong")
    assert e.value.code == "wiped"
    assert len(fob.vault.accounts) == 0
    info = client.info()
    assert info["password"] is False and info["accounts"] == 0
    assert fob.presence.notices == ["Wiped: 8 wrong passwords"]
    # The old password is gone from flash too: both slots hold an empty record.
    for name in ("/guard_a.bin", "/guard_b.bin"):
        assert key not in bytes(fob.fs.files[name])


def test_a_right_password_resets_the_count():
    fob, link, client = with_password()
    for _ in range(3):
        with pytest.raises(FobError):
            client.login("wrong")
    assert client.login("correct horse")["tries_left"] == guard.TRIES


def test_the_try_is_saved_before_the_check():
    fob, link, client = with_password()
    begin = client.request("auth_begin")
    fob.fs.broken = True
    with pytest.raises(FobError) as e:
        client.request("auth", challenge="00" * 16, response="00" * 32)
    assert e.value.code == "io"
    fob.fs.broken = False
    assert client.info()["tries_left"] == guard.TRIES
    assert begin["tries_left"] == guard.TRIES


def test_the_counter_survives_a_restart_and_a_torn_write():
    fob, link, client = with_password()
    with pytest.raises(FobError):
        client.login("wrong")
    g = guard.Guard("/", fob.fs)
    assert g.has_password and g.tries == guard.TRIES - 1
    # Tear the newest slot: the older one (one try more) is what a power cut leaves.
    newest = "/guard_%s.bin" % "ab"[g.slot]
    fob.fs.files[newest] = fob.fs.files[newest][:20]
    g = guard.Guard("/", fob.fs)
    assert g.has_password and g.tries == guard.TRIES
    # Both torn: the fob does not fall back to "no password".
    other = "/guard_%s.bin" % "ab"[g.slot]
    fob.fs.files[other] = bytearray(b"\xff" * 71)
    g = guard.Guard("/", fob.fs)
    assert g.status == "damaged" and g.has_password


def test_change_and_clear_need_login_and_a_press():
    fob, link, client = with_password(accounts=[acc("a")])
    other = FobClient(link, timeout=1.0)
    with pytest.raises(FobError) as e:
        other.password_set("mine now", iterations=ITER)
    assert e.value.code == "auth_required"
    client.login("correct horse")
    client.password_set("battery staple", iterations=ITER)
    assert fob.presence.prompts[-1] == "Change password?"
    with pytest.raises(FobError):
        FobClient(link, timeout=1.0).login("correct horse")
    client.login("battery staple")
    client.password_clear()
    assert fob.presence.prompts[-1] == "Clear password?"
    assert FobClient(link, timeout=1.0).info()["password"] is False


def test_session_ends_when_the_port_closes():
    fob, link, client = with_password()
    fob.port.connected = True
    client.login("correct horse")
    client.list()
    fob.port.connected = False
    fob.proto.poll()
    fob.port.connected = True
    with pytest.raises(FobError) as e:
        client.list()
    assert e.value.code == "auth_required"


def test_reset_without_login_needs_a_press_and_wipes_the_password():
    fob, link, client = with_password(accounts=[acc("a")])
    client.reset()
    assert fob.presence.prompts[-1] == "Erase all accounts and the password?"
    assert len(fob.vault.accounts) == 0 and client.info()["password"] is False


@pytest.mark.parametrize("reply, code", [(False, "refused"), (None, "presence_timeout")])
def test_refused_or_unanswered_changes_nothing(reply, code, monkeypatch):
    fob, link, client = make([acc("a")], presence=reply)
    clock = [1000.0]

    def monotonic():
        # Each look at the clock is 10 ms later: the fob's 30 s pass within one reply.
        clock[0] += 0.01
        return clock[0]

    monkeypatch.setattr("fob.protocol._monotonic", monotonic)
    before = fob.state()
    client.timeout = 1000
    calls = [lambda: client.add(acc("b")), lambda: client.delete(0), client.reset,
             lambda: client.add(acc("a"), overwrite=True),
             lambda: client.add_many([acc("x"), acc("y")]),
             lambda: client.password_set("pw", iterations=ITER)]
    for call in calls:
        with pytest.raises(FobError) as e:
            call()
        assert e.value.code == code
    assert fob.state() == before and client.info()["password"] is False
    assert fob.presence.prompts == ["Add Example / b?", "Delete Example / a?",
                                    "Erase all accounts and the password?",
                                    "Replace Example / a?", "Add 2 accounts?",
                                    "Set password?"]


def test_what_would_fail_is_refused_before_asking():
    fob, link, client = make([acc("a")])
    with pytest.raises(FobError) as e:
        client.add(acc("a"))
    assert e.value.code == "duplicate"
    with pytest.raises(FobError) as e:
        client.delete(5)
    assert e.value.code == "not_found"
    assert fob.presence.prompts == []


def test_add_presence_can_be_turned_off_only_behind_a_password():
    fob, link, client = with_password()
    client.login("correct horse")
    fob.proto.guard.set_add_presence(False)
    n = len(fob.presence.prompts)
    client.add(acc("quiet"))
    client.add_many([acc("q1"), acc("q2")])
    assert len(fob.presence.prompts) == n
    # Overwriting and deleting still ask.
    client.add(acc("quiet"), overwrite=True)
    client.delete(0)
    assert fob.presence.prompts[n:] == ["Replace Example / quiet?", "Delete Example / quiet?"]
    # Without a password the setting means nothing: adds ask again.
    client.password_clear()
    assert fob.proto.guard.add_presence is True
    client.add(acc("loud"))
    assert fob.presence.prompts[-1] == "Add Example / loud?"


def test_time_far_back_needs_force_and_a_press():
    fob, link, client = make()
    client.time_set(T0 + 7200)
    # Beyond the clock window, forward too: the holder sees the exact move.
    assert fob.presence.prompts == ["Clock +2 h 00 min?"]
    with pytest.raises(FobError) as e:
        client.time_set(T0)
    assert e.value.code == "time_backwards" and "2 h" in e.value.message
    client.time_set(T0 + 7200 - 20)     # within 30 s and the window: a normal correction
    assert len(fob.presence.prompts) == 1
    reply = client.request("time_set", time=T0, force=True)
    assert reply["time"] == T0 and fob.presence.prompts[-1] == "Clock -1 h 59 min?"


def test_highest_time_is_remembered_across_restarts():
    fob, link, client = make()
    client.time_set(T0 + 86400 * 3)
    fob.clock.t = T0     # the chip reset to an earlier time
    g = guard.Guard("/", fob.fs)
    assert g.high_time == T0 + 86400 * 3
    fob2 = Fob()
    fob2.fs = fob.fs
    fob2.vault.fs = fob.fs
    fob2.proto._guard = None
    c2 = FobClient(LoopTransport(fob2), timeout=1.0)
    with pytest.raises(FobError) as e:
        c2.time_set(T0 + 86400)
    assert e.value.code == "time_backwards" and "2 days" in e.value.message


def test_errors_and_replies_carry_no_key_material():
    fob, link, client = with_password(accounts=[acc("a")])
    for _ in range(3):
        with pytest.raises(FobError):
            client.login("wrong")
    client.login("correct horse")
    key = fob.proto.guard.key
    wire = b"".join(link.received)
    for form in (key.hex().encode(), base64.b32encode(SECRET), SECRET.hex().encode()):
        assert form not in wire
