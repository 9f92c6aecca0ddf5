"""Attacks on the firmware in-process, over the fakes: a program on the laptop sends what
no otpfob would, and the fob must answer with a clear error and store nothing."""

import json

from fob_fakes import Fob

from fob.vault import Account

SECRET = bytes(range(20))
B32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def send_raw(fob, line):
    """One request line as bytes, exactly as given; the fob's final reply."""
    fob.port.inbox += line + b"\n"
    for _ in range(1000):
        fob.proto.poll()
        if not fob.port.inbox and not fob.proto.pending:
            break
    lines = [json.loads(x) for x in bytes(fob.port.out).decode().splitlines()]
    fob.port.out.clear()
    return [r for r in lines if "pending" not in r][-1]


def test_a_lone_surrogate_in_a_name_or_issuer_is_refused_clearly_and_stores_nothing():
    # JSON may spell a lone surrogate (\ud800); it has no UTF-8, so stored it would make
    # every later list and code reply undecodable for a host (MicroPython writes it as the
    # bytes ED A0 80) or raise inside the fob (CPython, the simulator).
    fob = Fob([Account("alice", "Bank", SECRET)])
    before = fob.vault_files()
    for line in (
        b'{"id":1,"cmd":"add","name":"a\\ud800b","secret":"%s"}' % B32.encode(),
        b'{"id":1,"cmd":"add","issuer":"\\udfff","name":"x","secret":"%s"}' % B32.encode(),
        b'{"id":1,"cmd":"add_many","accounts":[{"name":"\\ud83d","secret":"%s"}]}' % B32.encode(),
        b'{"id":1,"cmd":"rename","index":0,"name":"\\ud800"}',
        b'{"id":1,"cmd":"rename","index":0,"name":"bob","issuer":"\\udc00"}',
    ):
        r = send_raw(fob, line)
        assert r["ok"] is False, (line, r)
        assert r["error"]["code"] == "bad_argument", (line, r)
        assert "surrogate" in r["error"]["message"], (line, r)
    r = send_raw(fob, b'{"id":1,"cmd":"delete","issuer":"Bank","name":"\\ud800"}')
    assert r["error"]["code"] == "not_found", r
    assert fob.holder.prompts == []
    assert fob.vault_files() == before
    # A real character outside the BMP (sent as UTF-8, as otpfob does) is fine.
    r = send_raw(
        fob, ('{"id":1,"cmd":"add","name":"\U0001f600","secret":"%s"}' % B32).encode("utf-8")
    )
    assert r["ok"] is True, r
    assert fob.labels() == ["Bank / alice", "\U0001f600"]


class FullPort:
    """A port whose host stopped reading: it takes `room` more bytes, then none (as
    usb_cdc does once its write timeout has passed)."""

    def __init__(self, port, room):
        self.port = port
        self.room = room
        self.short = 0  # writes that did not go out whole

    def __getattr__(self, name):
        return getattr(self.port, name)

    def write(self, data):
        if len(data) > self.room:
            self.short += 1
        n = min(len(data), self.room)
        self.room -= n
        self.port.out += data[:n]
        return n


def test_a_host_that_stops_reading_costs_one_short_write_a_pass_and_ends_the_long_reply():
    accounts = [Account("user%d" % i, "Bank", SECRET) for i in range(40)]
    fob = Fob(accounts)
    # usb_cdc would otherwise wait forever for a host that does not read.
    assert fob.port.write_timeout > 0
    full = FullPort(fob.port, 300)
    fob.proto.port = full
    fob.port.inbox += b'{"id":1,"cmd":"list"}\n' + b'{"id":2,"cmd":"hello"}\n' * 19
    fob.proto.poll()
    # The list's head fitted, its items did not: the first short write ends the pass's
    # output, and the long reply is dropped rather than resumed at every pass.
    assert full.short == 1
    assert not fob.proto.streaming
    # Each pass: one write that comes back short, at most; the requests are still read.
    for n in range(2, 6):
        fob.proto.poll()
        assert full.short == n
    assert not fob.proto.pending
    # A host that reads again is answered whole.
    full.room = 1 << 20
    fob.port.out.clear()
    fob.port.inbox += b'{"id":9,"cmd":"hello"}\n'
    fob.proto.poll()
    r = json.loads(bytes(fob.port.out).decode().splitlines()[-1])
    assert r["id"] == 9 and r["ok"] is True


def _log_in_wrong(fob):
    begin = fob.call("auth_begin")
    assert begin["ok"], begin
    return fob.call(
        "auth", challenge="00" * 16, fob_challenge=begin["challenge"], response="00" * 32
    )


def test_a_program_alone_can_make_the_fob_ask_but_never_erase_it_or_spoil_a_login():
    # Wrong answers stop the logins (they never erase); another program asking for a
    # challenge while otpfob derives its key makes otpfob try again, and counts nothing.
    from otpfob import auth

    fob = Fob([Account("alice", "Bank", SECRET)], reply=False)
    salt = bytes(16)
    key = auth.derive_key("pw", salt, 10000)
    fob.holder.reply = True
    assert fob.call("password_set", salt=salt.hex(), iterations=10000, key=key.hex())["ok"]
    fob.holder.reply = False
    prompts = len(fob.holder.prompts)
    begin = fob.call("auth_begin")
    fob.call("auth_begin")  # another program's, meanwhile
    nh = auth.new_nonce()
    proof = auth.host_proof(key, bytes.fromhex(begin["challenge"]), nh)
    r = fob.call("auth", challenge=nh.hex(), fob_challenge=begin["challenge"], response=proof.hex())
    assert r["error"]["code"] == "no_challenge" and fob.proto.guard.tries == 8
    for _ in range(8):
        _log_in_wrong(fob)
    assert fob.labels() == ["Bank / alice"] and fob.proto.guard.has_password
    # All the program can do now is make the fob ask its holder, who says no.
    r = fob.call("auth_begin")
    assert r["error"]["code"] == "refused"
    assert len(fob.holder.prompts) == prompts + 1
    assert fob.holder.prompts[-1].startswith("Allow 8 more password tries?")
    assert fob.labels() == ["Bank / alice"] and fob.proto.guard.locked


def test_settings_changes_without_a_press_are_limited_so_a_host_cannot_wear_the_flash():
    fob = Fob()
    saves = []
    fob.settings.save = lambda: saves.append(1) or True
    answers = []
    for i in range(1000):
        answers.append(fob.call("settings_set", layout=("de", "us")[i % 2]))
    done = [r for r in answers if r["ok"]]
    refused = [r for r in answers if not r["ok"]]
    # Far more than anyone changes by hand between two plug-ins, far fewer than wear a
    # flash sector out (about 100,000 erases); then a clear error, and no press asked.
    assert 20 <= len(done) <= 200
    assert answers[: len(done)] == done
    assert len(saves) == len(done)
    assert {r["error"]["code"] for r in refused} == {"busy"}
    assert "plug" in refused[0]["error"]["message"]
    assert fob.holder.prompts == []
    # A change the holder presses for still goes through.
    fob.settings.privacy = True
    assert fob.call("settings_set", privacy=False)["ok"]
    assert fob.holder.prompts == ["Set privacy off?"]
    # The count is per power-up: a restarted fob takes changes again.
    assert Fob(flash=fob.flash).call("settings_set", layout="fr")["ok"]


def test_a_settings_file_cut_short_by_a_power_cut_keeps_privacy_on(tmp_path):
    from fob.settings import FILE_NAME, Settings

    path = tmp_path / FILE_NAME
    # The states a cut while writing can leave: nothing yet, or a first line cut short.
    for text in ("", "privacy=", "priv"):
        path.write_text(text)
        assert Settings(str(tmp_path)).privacy is True, text
    path.write_text("privacy=0\nidle_timeout=30\ntyping=0\nlayout=us\n")
    assert Settings(str(tmp_path)).privacy is False
    # No file at all is a new fob: its defaults.
    path.unlink()
    assert Settings(str(tmp_path)).privacy is False
