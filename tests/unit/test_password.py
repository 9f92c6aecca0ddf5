"""The management password, the retry counter and the presence policy, end to end between
the host client (otpfob.client / otpfob.auth) and the firmware's protocol (fob.protocol,
fob.guard) running in-process over a fake port and an in-memory flash."""

import base64
import json

import pytest
from fakes import SECRET, T0, FakeTime, Fob

from fob import guard, wire
from fob.vault import Account
from otpfob import auth
from otpfob import check as checks
from otpfob.client import FobClient, FobError

ITER = auth.ITERATIONS_MIN  # keeps each login to a few milliseconds here


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
    client.on_prompt = lambda prompt, check: prompts.append((prompt, check))
    client.password_set("correct horse", iterations=ITER)
    # The fob shows the check value of the key it got; the host works out its own.
    shown = fob.presence.prompts[0]
    key = fob.proto.guard.key
    assert shown == "Set password?\nCheck: " + checks.text(checks.password(key))
    assert prompts == [("Set password?", checks.text(checks.password(key)))]
    other = FobClient(link, timeout=1.0)
    info = other.info()
    # A host that has not logged in learns what a login needs, nothing of what it holds.
    assert info["password"] is True and info["logged_in"] is False
    for held in ("accounts", "tries_left", "bytes_used", "time", "capacity"):
        assert held not in info
    other.hello()
    for call in (
        other.list,
        other.time_get,
        lambda: other.code(0),
        lambda: other.add(acc("b")),
        lambda: other.delete(0),
        lambda: other.aging_get(),
        other.selftest,
    ):
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
    fresh.request(
        "auth", challenge=host_nonce.hex(), fob_challenge=begin["challenge"], response=good.hex()
    )
    fresh.request("auth_begin")
    with pytest.raises(FobError) as e:
        fresh.request(
            "auth",
            challenge=host_nonce.hex(),
            fob_challenge=begin["challenge"],
            response=good.hex(),
        )
    assert e.value.code == "no_challenge"


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


def test_wrong_passwords_stop_the_logins_and_never_erase_anything():
    fob, link, client = with_password(accounts=[acc("a"), acc("b")])
    key = fob.proto.guard.key
    before = fob.state()
    for left in range(guard.TRIES - 1, 0, -1):
        with pytest.raises(FobError) as e:
            client.login("wrong")
        assert e.value.code == "bad_password"
        assert "%d tries left" % left in e.value.message
        assert fob.proto.guard.tries == left
    with pytest.raises(FobError) as e:
        client.login("wrong")
    assert e.value.code == "locked" and "8 wrong passwords" in e.value.message
    # Nothing erased: accounts, password and its record are as they were.
    assert fob.state() == before and fob.proto.guard.key == key
    assert any(key in bytes(f) for f in fob.fs.files.values())
    assert fob.presence.notices == []


def test_only_the_holder_lets_a_locked_login_try_again_a_bounded_number_of_times(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(wire, "time", FakeTime(clock))
    fob, link, client = with_password(accounts=[acc("a")])
    fob.presence.reply = False  # the holder says no
    for _ in range(guard.TRIES):
        with pytest.raises(FobError):
            client.login("wrong")
    n = len(fob.presence.prompts)
    with pytest.raises(FobError) as e:
        client.login("correct horse")  # even the right password: the holder said no
    assert e.value.code == "refused"
    assert fob.presence.prompts[n:] == ["Allow 8 more password tries?\n8 wrong so far"]
    assert fob.proto.guard.locked
    # A no keeps the questions of hosts that have not logged in away for a while.
    with pytest.raises(FobError) as e:
        client.login("correct horse")
    assert e.value.code == "cooldown"
    clock[0] += 31
    # With the holder's yes, 8 more tries, UNLOCKS times; then only a reset helps.
    fob.presence.reply = True
    for _ in range(guard.UNLOCKS):
        for _ in range(guard.TRIES):
            with pytest.raises(FobError):
                client.login("wrong")
    wrong = guard.TRIES * (guard.UNLOCKS + 1)
    assert fob.proto.guard.failed == wrong
    n = len(fob.presence.prompts)
    with pytest.raises(FobError) as e:
        client.login("correct horse")
    assert e.value.code == "locked" and "for good" in e.value.message
    assert len(fob.presence.prompts) == n and len(fob.vault.accounts) == 1
    client.reset()
    assert len(fob.vault.accounts) == 0 and not fob.proto.guard.has_password


def test_a_login_says_how_many_wrong_tries_came_before_it():
    fob, link, client = with_password()
    fob.presence.reply = True
    for _ in range(guard.TRIES + 3):  # 8, the holder's yes, then 3 more
        with pytest.raises(FobError):
            client.login("wrong")
    told = []
    client.on_failed_tries = told.append
    assert client.login("correct horse")["failed"] == guard.TRIES + 3
    assert told == [guard.TRIES + 3]
    # Counted from the last right login: the next one finds none.
    assert client.login("correct horse")["failed"] == 0 and told == [guard.TRIES + 3]


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
        client.request(
            "auth", challenge="00" * 16, fob_challenge=begin["challenge"], response="00" * 32
        )
    assert e.value.code == "io"
    fob.fs.broken = False
    assert fob.proto.guard.tries == guard.TRIES
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
    assert fob.presence.prompts[-1] == "Change password?\nCheck: " + checks.text(
        checks.password(fob.proto.guard.key)
    )
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
    # Each look at the clock is 10 ms later: the fob's 30 s pass within one reply.
    clock = FakeTime(step=0.01)
    monkeypatch.setattr(wire, "time", clock)
    before = fob.state()
    client.timeout = 1000
    calls = [
        lambda: client.add(acc("b")),
        lambda: client.delete(0),
        client.reset,
        lambda: client.add(acc("a"), overwrite=True),
        lambda: client.add_many([acc("x"), acc("y")]),
        lambda: client.password_set("pw", iterations=ITER),
    ]
    for call in calls:
        with pytest.raises(FobError) as e:
            call()
        assert e.value.code == code
        clock.clock[0] += 3600  # past the cooldown a no starts
    assert fob.state() == before and client.info()["password"] is False
    b = checks.text(checks.accounts([acc("b")]))
    a = checks.text(checks.accounts([acc("a")]))
    xy = checks.text(checks.accounts([acc("x"), acc("y")]))
    assert fob.presence.prompts[:5] == [
        "Add account?\nIssuer: Example\nName: b\nCheck: " + b,
        "Delete #1?\nIssuer: Example\nName: a",
        "Erase all accounts and the password?",
        "Replace #1?\nIssuer: Example\nName: a\nCheck: " + a,
        "Add 2 accounts?\nCheck: " + xy,
    ]
    assert fob.presence.prompts[5].startswith("Set password?\nCheck: ")


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
    assert [p.split("\n")[0] for p in fob.presence.prompts[n:]] == ["Replace #1?", "Delete #1?"]
    # Without a password the setting means nothing: adds ask again.
    client.password_clear()
    assert fob.proto.guard.add_presence is True
    client.add(acc("loud"))
    assert fob.presence.prompts[-1].startswith("Add account?\nIssuer: Example\nName: loud")


def test_time_far_back_needs_force_and_a_press():
    fob, link, client = make()
    client.time_set(T0 + 7200)
    # Beyond the clock window, forward too: the holder sees the exact move.
    assert fob.presence.prompts == ["Clock +2 h 00 min?"]
    with pytest.raises(FobError) as e:
        client.time_set(T0)
    assert e.value.code == "time_backwards" and "2 h" in e.value.message
    client.time_set(T0 + 7200 - 20)  # within 30 s and the window: a normal correction
    assert len(fob.presence.prompts) == 1
    reply = client.request("time_set", time=T0, force=True)
    assert reply["time"] == T0 and fob.presence.prompts[-1] == "Clock -1 h 59 min?"
    # Force always asks, even for a move the window would take.
    n = len(fob.presence.prompts)
    client.time_set(T0 + 5, force=True)
    assert len(fob.presence.prompts) == n + 1


def test_highest_time_is_remembered_across_restarts():
    fob, link, client = make()
    client.time_set(T0 + 86400 * 3)
    fob.clock.t = T0  # the chip reset to an earlier time
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


# -- sessions: after a login only the program that logged in is answered ------------------


def logged_in():
    fob, link, client = with_password(accounts=[acc("a")])
    client.login("correct horse")
    return fob, link, client


def test_requests_after_login_carry_a_mac_that_a_second_program_lacks():
    fob, link, client = logged_in()
    assert link.sent[-1].endswith(b'"}') and b',"mac":"' not in link.sent[-1]  # the login
    client.list()
    assert link.sent[-1][-74:-66] == b',"mac":"'
    other = FobClient(link, timeout=1.0)
    before = fob.state()
    for call in (
        other.list,
        lambda: other.add(acc("b")),
        lambda: other.delete(0),
        lambda: other.time_set(T0 + 3600),
        lambda: other.settings_set(privacy=True),
    ):
        with pytest.raises(FobError) as e:
            call()
        assert e.value.code == "auth_required"
    assert fob.state() == before and len(fob.presence.prompts) == 1
    # The program that logged in goes on, its session unharmed.
    assert [a["name"] for a in client.list()["accounts"]] == ["a"]


def test_a_replayed_or_reordered_request_is_refused_and_changes_nothing():
    fob, link, client = logged_in()
    client.add(acc("b"))
    added = link.sent[-1]
    client.delete(issuer="Example", name="b")
    deleted = link.sent[-1]
    before = fob.state()
    for line in (added, deleted):  # replayed
        out = fob.send(line + b"\n")
        assert [r["error"]["code"] for r in out] == ["auth_required"]
    assert fob.state() == before
    # Two requests signed for the next counters, sent in the wrong order: the later one
    # is refused; the earlier one still fits, as the refusal moved nothing.
    key, n = client.session
    first = auth.sign_line(key, n, b'{"id":"one","cmd":"list"}')
    second = auth.sign_line(key, n + 1, b'{"id":"two","cmd":"list"}')
    out = fob.send(second + b"\n")
    assert out[0]["id"] == "two" and out[0]["error"]["code"] == "auth_required"
    out = fob.send(first + b"\n")
    assert out[0]["id"] == "one" and out[0]["ok"] is True


@pytest.mark.parametrize("tail", [b"0" * 64, b"zz" * 32, b"A" * 64])
def test_a_foreign_mac_is_refused_and_leaves_the_session_working(tail):
    fob, link, client = logged_in()
    out = fob.send(b'{"id":5,"cmd":"list","mac":"' + tail + b'"}\n')
    assert out[0]["id"] == 5 and out[0]["error"]["code"] == "auth_required"
    # Even open commands are refused with a MAC that does not fit.
    out = fob.send(b'{"id":6,"cmd":"hello","mac":"' + tail + b'"}\n')
    assert out[0]["error"]["code"] == "auth_required"
    assert client.list()["ok"] is True


def test_only_the_program_that_logged_in_can_log_out_and_the_client_does_on_close():
    fob, link, client = logged_in()
    other = FobClient(link, timeout=1.0)
    assert other.logout() == {"id": other._next_id - 1, "ok": True, "logged_out": False}
    other.request("auth_begin")  # another program's login attempt
    assert client.list()["ok"] is True
    assert fob.proto.session is not None
    client.close()
    assert fob.proto.session is None
    assert json.loads(link.sent[-1][:-74] + b"}")["cmd"] == "logout"


def test_a_lost_session_makes_the_client_log_in_again():
    fob, link, client = logged_in()
    client.password_provider = lambda c: "correct horse"
    fob.proto.logout()  # the fob ended it (idle, port closed)
    assert [a["name"] for a in client.list()["accounts"]] == ["a"]
    assert client.logged_in and fob.proto.session is not None


def test_the_session_ends_after_five_idle_minutes(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(wire, "time", FakeTime(clock))
    fob, link, client = logged_in()
    clock[0] += 299
    client.list()  # a signed request keeps it alive
    clock[0] += 299
    fob.proto.poll()
    # Another program's requests do not.
    FobClient(link, timeout=1.0).info()
    clock[0] += 2
    fob.proto.poll()
    assert fob.proto.session is None
    with pytest.raises(FobError) as e:
        client.list()
    assert e.value.code == "auth_required" and not client.logged_in


def test_the_session_ends_when_a_port_that_was_closed_opens():
    fob, link, client = with_password()
    fob.port.connected = False  # logged in by a host that never raised DTR
    fob.proto.poll()
    client.login("correct horse")
    client.list()
    fob.port.connected = True  # now a program opened the port
    fob.proto.poll()
    with pytest.raises(FobError) as e:
        client.list()
    assert e.value.code == "auth_required"


# -- fail closed -------------------------------------------------------------------------


def _damage_both(fob):
    for name in ("/guard_a.bin", "/guard_b.bin"):
        fob.fs.files[name] = bytearray(b"\xff" * 71)


def test_a_damaged_record_stays_password_set_until_a_reset_with_a_press():
    fob, link, client = with_password(accounts=[acc("a")])
    _damage_both(fob)
    fob.proto._guard = None  # a restart: the record is read again
    damaged = {k: bytes(v) for k, v in fob.fs.files.items() if "guard" in k}
    other = FobClient(link, timeout=1.0)
    for _ in range(3):
        info = other.info()
        assert info["password"] is True
        with pytest.raises(FobError) as e:
            other.list()
        assert e.value.code == "auth_required"
        with pytest.raises(FobError) as e:
            other.request("auth_begin")
        assert e.value.code == "damaged"
    # Nothing rewrote the record (the highest time seen included).
    assert {k: bytes(v) for k, v in fob.fs.files.items() if "guard" in k} == damaged
    assert guard.Guard("/", fob.fs).status == "damaged"
    other.reset()
    assert fob.presence.prompts[-1] == "Erase all accounts and the password?"
    g = guard.Guard("/", fob.fs)
    assert g.status == "ok" and not g.has_password and len(fob.vault.accounts) == 0


def test_a_power_cut_during_a_wrong_try_never_erases_and_keeps_the_count(monkeypatch):
    fob, link, client = with_password(accounts=[acc("a"), acc("b")])
    for _ in range(guard.TRIES - 1):
        with pytest.raises(FobError):
            client.login("wrong")
    real = guard.Guard.save

    def cut(self):
        real(self)
        raise KeyboardInterrupt("power cut")  # right after the try was counted

    monkeypatch.setattr(guard.Guard, "save", cut)
    with pytest.raises(KeyboardInterrupt):
        client.login("wrong")
    monkeypatch.undo()
    # The next boot: everything is there, the try was counted, logins wait for the holder.
    g = guard.Guard("/", fob.fs)
    assert g.has_password and g.tries == 0 and g.failed == guard.TRIES
    fob.vault.load()
    assert len(fob.vault.accounts) == 2


def test_a_record_of_older_firmware_is_read_with_all_its_unlocks():
    import struct

    from fob.vault import crc32

    fob, link, client = with_password()
    g = fob.proto.guard
    # The version 1 layout: no unlocks byte.
    old = struct.pack(
        "<4sBBIBI16s32sI", b"OTPG", 1, 1, g.seq + 1, 3, g.iterations, g.salt, g.key, g.high_time
    )
    for name in ("/guard_a.bin", "/guard_b.bin"):
        fob.fs.files[name] = bytearray(old + struct.pack("<I", crc32(old)))
    g = guard.Guard("/", fob.fs)
    assert g.status == "ok" and g.tries == 3 and g.unlocks == guard.UNLOCKS
    assert g.failed == guard.TRIES - 3


# -- the channel: partial lines and blank lines ----------------------------------------


def test_a_partial_line_is_dropped_two_seconds_after_its_first_byte(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(wire, "time", FakeTime(clock))
    fob = Fob()
    fob.port.inbox += b'{"id": 1, "cmd": "hel'
    fob.run()
    clock[0] += 1.5
    fob.run()
    clock[0] += 1
    fob.run()
    out = fob.send(b'{"id": 2, "cmd": "hello"}\n')
    assert [(r["id"], r["ok"]) for r in out] == [(2, True)]


def test_a_partial_line_is_dropped_when_the_port_changes_hands():
    fob = Fob()
    fob.port.connected = True
    fob.port.inbox += b'{"id": 1, "cmd": "delete", "index": 0, "x": "'
    fob.run()
    fob.port.connected = False  # that program went away
    fob.proto.poll()
    fob.port.connected = True
    out = fob.send(b'{"id": 2, "cmd": "hello"}\n')
    assert [(r["id"], r["ok"]) for r in out] == [(2, True)]


def test_ten_thousand_blank_lines_take_a_few_passes():
    fob = Fob()
    fob.port.inbox += b"\n" * 10000 + b"\r\n" * 100 + b'{"id": 1, "cmd": "hello"}\n'
    passes = 0
    while fob.port.inbox or fob.proto.pending:
        fob.proto.poll()
        passes += 1
    assert passes <= 3
    assert [r["id"] for r in fob.replies()] == [1]
