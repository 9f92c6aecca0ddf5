"""fob/policy.py: the one table of who may do what, and the presence and clock rules it
applies (firmware in-process over fakes; the attacks over a socket are tests/sim/
test_trust_e2e.py)."""

import base64

import pytest
from fakes import FakeRtc
from fob_fakes import T0, Clock, Flash, Fob

from fob import access, clockset, commands, fresh, policy, prefs, provision
from fob.question import wrap
from fob.vault import Account
from otpfob import check as checks

SECRET = base64.b32decode("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
B32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
TOKEN = "ab" * 16
MODULES = {
    "commands": commands,
    "provision": provision,
    "access": access,
    "clockset": clockset,
    "prefs": prefs,
    "fresh": fresh,
}


def bank(name="alice", secret=SECRET):
    return Account(name, "Bank", secret)


def check_of(*accounts):
    """The check value of accounts as (issuer, name, base32 secret), in the order sent."""
    h = checks.start()
    for issuer, name, secret in accounts:
        h = checks.account(h, issuer, name, base64.b32decode(secret))
    return checks.text(h)


def test_hello_lists_exactly_the_commands_of_the_table():
    fob = Fob()
    caps = fob.call("hello")["capabilities"]
    assert caps == policy.names()
    assert len(set(caps)) == len(caps)


@pytest.mark.parametrize("row", policy.TABLE, ids=[r[0] for r in policy.TABLE])
def test_every_row_names_a_handler_and_a_prompt_that_exist(row):
    name, module, rule, prompt = row
    mod = MODULES[module]
    assert callable(getattr(mod, ("c_" + name) if module == "commands" else name))
    if rule & (policy.PRESS | policy.ASKS):
        assert isinstance(prompt, str) and prompt
        if not prompt.endswith("?"):
            assert callable(getattr(mod, prompt))
    else:
        assert prompt is None


def test_an_unknown_command_is_refused_by_name():
    r = Fob().call("dump_secrets")
    assert r["error"]["code"] == "unknown_command"


def _with_password(fob):
    from otpfob import auth

    salt = b"s" * 16
    key = auth.derive_key("correct horse", salt, auth.ITERATIONS_MIN)
    assert fob.call("password_set", salt=salt.hex(), iterations=auth.ITERATIONS_MIN, key=key.hex())[
        "ok"
    ]


@pytest.mark.parametrize("row", policy.TABLE, ids=[r[0] for r in policy.TABLE])
def test_with_a_password_only_open_commands_answer_without_a_login(row):
    fob = Fob([bank()])
    _with_password(fob)
    before = fob.vault_files()
    r = fob.call(row[0])
    if row[2] & policy.LOGIN:
        assert r["error"]["code"] == "auth_required", r
    else:
        assert r.get("error", {}).get("code") != "auth_required", r
    assert fob.vault_files() == before


# Every change to what the fob shows, refused on the fob: the exact prompt, and nothing
# changed (the vault files, the clock, the settings).
CHANGES = [
    (
        "add",
        {"name": "bob", "issuer": "Bank", "secret": OTHER},
        "Add account?\nIssuer: Bank\nName: bob\nCheck: " + check_of(("Bank", "bob", OTHER)),
    ),
    (
        "add",
        {"name": "alice", "issuer": "Bank", "secret": OTHER, "overwrite": True},
        "Replace #1?\nIssuer: Bank\nName: alice\nCheck: " + check_of(("Bank", "alice", OTHER)),
    ),
    (
        "add_many",
        {
            "accounts": [
                {"name": "x", "secret": OTHER},
                {"name": "y", "secret": OTHER},
                {"name": "alice", "issuer": "Bank", "secret": OTHER},
            ],
            "overwrite": True,
        },
        "Add 2, replace 1?\nCheck: "
        + check_of(("", "x", OTHER), ("", "y", OTHER), ("Bank", "alice", OTHER)),
    ),
    ("delete", {"index": 0}, "Delete #1?\nIssuer: Bank\nName: alice"),
    (
        "rename",
        {"index": 0, "name": "bob"},
        "Rename #1?\nIssuer: Bank\nName: alice\nNew Issuer: Bank\nNew Name: bob",
    ),
    ("move", {"index": 1, "to": 0}, "Move #2 to place 1?\nIssuer: Mail\nName: carol"),
    ("reset", {"confirm": True}, "Erase all accounts and the password?"),
    ("time_set", {"time": T0 + 3720}, "Clock +1 h 02 min?"),
    ("time_set", {"time": T0 - 125, "force": True}, "Clock -2 min 05 s?"),
    ("time_set", {"time": T0 - 2, "force": True}, "Clock -2.00 s?"),
    ("settings_set", {"typing": True}, "Set typing on?"),
    ("settings_set", {"usb_codes": True}, "Set codes to computers without a press?"),
    (
        "password_set",
        {"salt": "00" * 16, "iterations": 10000, "key": "11" * 32},
        "Set password?\nCheck: " + checks.text(checks.password(b"\x11" * 32)),
    ),
    ("code", {"index": 1}, "Send the code of #2 to the computer?\nIssuer: Mail\nName: carol"),
    ("code", {}, "Send 2 codes to the computer?"),
]


@pytest.mark.parametrize("cmd, args, prompt", CHANGES, ids=[c[0] for c in CHANGES])
def test_every_change_waits_for_a_press_and_a_no_changes_nothing(cmd, args, prompt):
    fob = Fob([bank(), Account("carol", "Mail", SECRET)], reply=False)
    before = (fob.vault_files(), fob.clock.t, dict(fob.flash.files))
    r = fob.call(cmd, **args)
    assert r["error"]["code"] == "refused", r
    assert fob.holder.prompts == [prompt]
    assert (fob.vault_files(), fob.clock.t) == before[:2]
    assert fob.call("hello")["password"] is False


def test_aging_offset_waits_for_a_press():
    fob = Fob(reply=False)
    fob.clock.rtc = FakeRtc(0)
    assert fob.call("aging_set", aging=5)["error"]["code"] == "refused"
    assert fob.holder.prompts == ["Clock rate trim 0 to 5?"] and fob.clock.rtc.aging == 0
    fob = Fob()
    fob.clock.rtc = FakeRtc(0)
    assert fob.call("aging_set", aging=5)["aging"] == 5 == fob.clock.rtc.aging


def test_prompts_are_whole_and_two_different_changes_never_read_alike():
    # Nothing is cut (the fob pages and scrolls a long question); an entry is named by
    # its number, and its issuer and name each have a row, so "Bank" + "alice" never
    # reads like the name "Bank / alice".
    accounts = [Account("n" * 64, "i" * 64, SECRET), bank(), Account("Bank / alice", "", SECRET)]
    prompts = []
    for cmd, args in (
        ("rename", {"index": 0, "name": "m" * 64}),
        ("delete", {"index": 1}),
        ("delete", {"index": 2}),
        ("move", {"index": 0, "to": 1}),
        ("add", {"name": "z" * 64, "issuer": "y" * 64, "secret": OTHER}),
        ("add", {"name": "alice", "issuer": "Bank", "secret": OTHER}),
        ("add", {"name": "Bank / alice", "issuer": "", "secret": OTHER}),
    ):
        fob = Fob(accounts if cmd != "add" else (), reply=False)
        fob.call(cmd, **args)
        prompts += fob.holder.prompts
    assert len(prompts) == 7 and len(set(prompts)) == 7
    assert "m" * 64 in prompts[0] and "i" * 64 in prompts[0]
    assert prompts[1] != prompts[2]
    for p in prompts + [c[2] for c in CHANGES]:
        title = p.split("\n")[0]
        assert title.endswith("?"), p
        for rows in (3, 7):
            lines = wrap(title, 21, rows)
            assert all(len(x) <= 21 for x in lines), lines
            assert "".join(lines).replace(" ", "") == title.replace(" ", "")


def test_a_rename_between_staged_parts_cannot_turn_an_add_into_a_silent_replace():
    # The batch adds "Bank / mallory"; meanwhile the host renames the holder's real
    # account to that name. The commit must say it replaces, not that it adds.
    fob = Fob([bank()])
    assert (
        fob.call(
            "add_many",
            accounts=[{"name": "x", "secret": OTHER}],
            overwrite=True,
            batch=TOKEN,
            part=0,
            stage=True,
        )["staged"]
        == 1
    )
    assert fob.call("rename", index=0, name="mallory")["name"] == "mallory"
    r = fob.call(
        "add_many",
        accounts=[{"name": "mallory", "issuer": "Bank", "secret": OTHER}],
        overwrite=True,
        batch=TOKEN,
        part=1,
    )
    assert r["replaced"] == 1
    assert [p.split("\n")[0] for p in fob.holder.prompts] == ["Rename #1?", "Add 1, replace 1?"]


def test_a_rename_between_parts_of_a_batch_without_overwrite_is_refused_at_commit():
    fob = Fob([bank()])
    fob.call(
        "add_many",
        accounts=[{"name": "mallory", "issuer": "Bank", "secret": OTHER}],
        batch=TOKEN,
        part=0,
        stage=True,
    )
    fob.call("rename", index=0, name="mallory")
    before = fob.vault_files()
    r = fob.call("add_many", accounts=[{"name": "y", "secret": OTHER}], batch=TOKEN, part=1)
    assert r["error"]["code"] == "duplicate"
    assert fob.vault_files() == before


def test_adds_without_a_press_need_a_login_and_a_press_to_turn_on_and_never_replace():
    fob = Fob([bank()])
    r = fob.call("settings_set", add_presence=False)
    assert r["error"]["code"] == "auth_required"
    _with_password_logged_in(fob)
    r = fob.call("settings_set", add_presence=False)
    assert r.get("add_presence") is False, r
    assert fob.holder.prompts[-1] == "Set adds without press?"
    n = len(fob.holder.prompts)
    assert fob.call("add", name="bob", issuer="Bank", secret=OTHER)["replaced"] is False
    assert len(fob.holder.prompts) == n
    fob.call("add", name="alice", issuer="Bank", secret=OTHER, overwrite=True)
    assert fob.holder.prompts[-1].startswith("Replace #1?\n")
    # Turning the press back on is stricter: no press.
    fob.call("settings_set", add_presence=True)
    assert len(fob.holder.prompts) == n + 1


def _with_password_logged_in(fob):
    from otpfob import auth

    salt = b"s" * 16
    key = auth.derive_key("correct horse", salt, auth.ITERATIONS_MIN)
    fob.proto.guard.set_password(salt, auth.ITERATIONS_MIN, key)
    fob.login("correct horse")


# -- the clock window -----------------------------------------------------------------------


def test_small_moves_pass_until_the_window_is_used_however_they_are_split():
    fob = Fob(reply=False)
    moved = 0
    for i in range(40):
        step = 10 if i % 2 == 0 else -7  # forward and back, in small steps
        r = fob.call("time_set", time=int(fob.clock.t) + step)
        if not r["ok"]:
            break
        moved += abs(step)
    assert r["error"]["code"] == "refused"
    assert 110 <= moved <= 120
    assert fob.holder.prompts[-1].startswith("Clock ")


def test_calibration_syncs_of_milliseconds_keep_working():
    fob = Fob(reply=False)
    for i in range(200):
        # The host's time lands a few ms either side of the fob's, as after a sync.
        fob.clock.t = T0 + i * 1000 + 0.004
        r = fob.call("time_set", time=T0 + i * 1000)
        assert r["ok"], (i, r)
    assert fob.holder.prompts == []
    # Each counts as 50 ms at least (a stream of empty moves cannot wear the flash out).
    assert r["window_left"] == 110


def test_a_pressed_set_refills_the_window():
    fob = Fob()
    for _ in range(12):
        fob.call("time_set", time=int(fob.clock.t) + 10)
    assert fob.holder.prompts == []
    fob.call("time_set", time=int(fob.clock.t) + 10)
    assert fob.holder.prompts == ["Clock +10 s?"]
    assert fob.call("time_set", time=int(fob.clock.t) + 10)["window_left"] == 110
    assert len(fob.holder.prompts) == 1


def test_the_window_survives_a_restart_and_a_damaged_record_closes_it():
    flash = Flash()
    clock = Clock()
    fob = Fob(flash=flash, clock=clock, reply=False)
    for _ in range(12):
        assert fob.call("time_set", time=int(clock.t) + 10)["ok"]
    again = Fob(flash=flash, clock=clock, reply=False)
    assert again.call("time_set", time=int(clock.t) + 1)["error"]["code"] == "refused"
    # A record that does not read back counts as a used window, never as a fresh one.
    fresh = Fob(reply=False)
    fresh.flash.files["/" + clockset._MOVES_FILE] = bytearray(b"garbage!garbage!")
    assert fresh.call("time_set", time=int(fresh.clock.t) + 1)["error"]["code"] == "refused"


def test_a_clock_that_is_not_set_is_set_only_with_a_press():
    fob = Fob(reply=False)
    fob.clock.reason = "power_lost"
    r = fob.call("time_set", time=T0)
    assert r["error"]["code"] == "refused"
    assert fob.holder.prompts == ["Set clock to 2027-01-15 08:00 UTC?"]


def test_a_pressed_set_adds_the_time_the_press_took(monkeypatch):
    # The host's time plus the time since its request came: the holder took 10.3 s.
    class Time:
        ns = 5 * 10**9
        slept = []

        def monotonic_ns(self):
            self.ns += 10**7  # every look at the clock is a pass of 10 ms later
            return self.ns

        def sleep(self, s):
            self.slept.append(s)
            self.ns += int(s * 1e9)

    fake = Time()
    monkeypatch.setattr(clockset, "time", fake)
    fob = Fob()

    def ask(prompt):
        fob.holder.prompts.append(prompt)
        fake.ns += 10300 * 10**6
        fob.holder.answer = True

    fob.holder.ask = ask
    r = fob.call("time_set", time=T0 + 3600)
    # Written at the next whole second (the DS3231 restarts its second when written),
    # waited for over passes of the loop and one short sleep at the end, not one long one.
    assert fob.clock.sets == [T0 + 3611]
    assert len(fake.slept) == 1 and 0 < fake.slept[0] <= clockset._WAIT_SLEEP
    assert abs((fake.ns - 5 * 10**9) / 1e9 - 11.0) < 0.05
    assert r["ok"]


# -- the questions: one at a time, none a stranger can borrow or flood -------------------


def _send(fob, rid, cmd, signed=False, polls=5, **args):
    """One request line and a few passes; the lines the fob wrote, parsed."""
    import json

    req = {"id": rid, "cmd": cmd}
    req.update(args)
    line = json.dumps(req).encode()
    if signed:
        line = fob.sign(line)
    fob.port.inbox += line + b"\n"
    for _ in range(polls):
        fob.proto.poll()
    out = [json.loads(x) for x in bytes(fob.port.out).decode().splitlines()]
    fob.port.out.clear()
    return out


def test_while_a_question_waits_reads_are_answered_and_another_question_is_busy(monkeypatch):
    from fakes import FakeTime

    from fob import wire

    monkeypatch.setattr(wire, "time", FakeTime())
    fob = Fob([bank()], reply=None)
    assert _send(fob, 1, "delete", index=0)[0]["pending"] == "presence"
    # A read goes on; a second question is refused at once, the first one stays.
    assert _send(fob, 2, "list")[0]["accounts"][0]["name"] == "alice"
    busy = _send(fob, 3, "reset", confirm=True)
    assert busy[0]["error"]["code"] == "busy" and fob.holder.prompts[1:] == []
    assert fob.proto.question is not None
    fob.holder.answer = True
    assert _send(fob, 4, "hello")[-1]["id"] in (1, 4)
    assert fob.labels() == []


def test_the_logged_in_host_takes_the_screen_from_a_stranger(monkeypatch):
    from fakes import FakeTime

    from fob import wire

    monkeypatch.setattr(wire, "time", FakeTime())
    fob = Fob([bank(), Account("carol", "Mail", SECRET)], reply=None)
    _with_password_logged_in(fob)
    stranger = _send(fob, "s", "reset", confirm=True)
    assert stranger[0]["pending"] == "presence"
    out = _send(fob, "admin", "delete", signed=True, index=1)
    assert [r["id"] for r in out] == ["s", "admin"]
    assert out[0]["error"]["code"] == "busy" and out[1]["pending"] == "presence"
    assert fob.holder.prompts[-1].startswith("Delete #2?")
    fob.holder.answer = True
    _send(fob, 9, "hello")
    assert fob.labels() == ["Bank / alice"]


def test_after_an_unanswered_question_strangers_wait_longer_each_time(monkeypatch):
    from fakes import FakeTime

    from fob import ask, wire

    clock = FakeTime()
    monkeypatch.setattr(wire, "time", clock)
    fob = Fob([bank()], reply=False)
    assert _send(fob, 0, "delete", index=0)[-1]["error"]["code"] == "refused"
    waits = []
    for n in range(6):
        start = clock.clock[0]
        while True:
            code = _send(fob, n, "delete", index=0)[-1]["error"]["code"]
            if code != "cooldown":
                break
            clock.clock[0] += 1
        assert code == "refused"  # the next question, put and refused
        waits.append(round(clock.clock[0] - start))
    assert waits == [ask.COOLDOWN, 60, 120, 240, ask.COOLDOWN_MAX, ask.COOLDOWN_MAX]
    # A yes starts again from the shortest wait.
    fob.holder.reply = True
    fob.vault.add(Account("dave", "Mail", SECRET))
    clock.clock[0] += ask.COOLDOWN_MAX
    assert _send(fob, "yes", "delete", index=1)[-1]["ok"] is True
    fob.holder.reply = False
    assert _send(fob, "no", "delete", index=0)[-1]["error"]["code"] == "refused"
    clock.clock[0] += ask.COOLDOWN + 1
    assert _send(fob, "again", "delete", index=0)[-1]["error"]["code"] == "refused"
