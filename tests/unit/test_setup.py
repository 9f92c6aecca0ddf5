"""setup: a fresh fob's clock, first password and first accounts under one question
(fob/fresh.py), firmware in-process over fakes, and the host's client against the real
protocol over a socket."""

import base64

import pyotp
import pytest
from fakes import T0, Fob, PassTime

from fob import clockset, fresh, policy
from fob.vault import Account
from otpfob import auth
from otpfob import check as checks
from otpfob.client import FobClient, FobError, takes_setup
from otpfob.otpauth import Account as HostAccount

B32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
SALT = b"s" * 16
KEY = auth.derive_key("correct horse", SALT, auth.ITERATIONS_MIN)
WHEN = T0 + 3600  # 2027-01-15 09:00 UTC


def password():
    return {"salt": SALT.hex(), "iterations": auth.ITERATIONS_MIN, "key": KEY.hex()}


def accounts(*names, secret=B32):
    return [{"issuer": "Example", "name": n, "secret": secret} for n in names]


def host_accounts(items):
    return [
        HostAccount(a["name"], base64.b32decode(a["secret"]), issuer=a["issuer"]) for a in items
    ]


@pytest.fixture
def passes(monkeypatch):
    """clockset's clock: each look a loop pass 10 ms later, so a pressed set's wait for the
    next second runs in passes here, not in real time."""
    fake = PassTime()
    monkeypatch.setattr(clockset, "time", fake)
    return fake


def state(fob):
    return (
        fob.labels(),
        fob.vault_files(),
        list(fob.clock.sets),
        fob.proto.guard.has_password,
        {k: bytes(v) for k, v in fob.fs.files.items() if "clock_moves" in k},
    )


def test_hello_announces_setup_from_the_policy_table():
    fob = Fob()
    assert "setup" in fob.call("hello")["capabilities"]
    assert policy.find("setup")[2] == policy.PRESS
    assert takes_setup(fob.call("hello"))
    assert not takes_setup({"capabilities": ["hello", "time_set", "add"]})


def test_setup_does_clock_password_and_accounts_after_one_question(passes):
    fob = Fob(see_time=False)

    def ask(prompt):  # the holder takes 10.3 s to read and hold
        fob.holder.prompts.append(prompt)
        passes.ns += 10300 * 10**6
        fob.holder.answer = True

    fob.holder.ask = ask
    items = accounts("alice@example.com", "bob@example.com")
    r = fob.call("setup", time=WHEN, accounts=items, **password())
    assert r["ok"], r
    # One question, showing every part and one check value over all of them.
    assert fob.holder.prompts == [
        "Set up fob?\nClock: 2027-01-15 09:00 UTC\nPassword: set\n"
        "Issuer: Example\nName: alice@example.com\nIssuer: Example\nName: bob@example.com\n"
        "Check: " + checks.text(checks.setup(WHEN, KEY, host_accounts(items)))
    ]
    assert fob.interim[0]["check"] is True and "Check" not in fob.interim[0]["prompt"]
    # The clock as a pressed set (written at a whole second, after the wait in passes).
    # The time the press took is added, and the wait for the next whole second is loop
    # passes with one short sleep at the end, never one long one.
    assert fob.clock.sets == [WHEN + 11]
    assert len(passes.slept) == 1 and 0 < passes.slept[0] <= clockset._WAIT_SLEEP
    assert r["window_left"] == clockset.CLOCK_WINDOW
    # The password (the key sent), then the accounts.
    g = fob.proto.guard
    assert g.has_password and g.key == KEY and r["password"] is True
    assert fob.labels() == ["Example / alice@example.com", "Example / bob@example.com"]
    assert r["added"] == 2 and r["indexes"] == [0, 1]
    # The codes against pyotp at the fob's time.
    assert r["codes"] == [pyotp.TOTP(B32).at(r["time"])] * 2
    # Now the fob is in use: a second setup is refused, with a login needed for the rest.
    again = fob.call("setup", time=WHEN)
    assert again["error"]["code"] == "not_fresh"
    assert fob.call("list")["error"]["code"] == "auth_required"


def test_setup_without_a_password_or_accounts(passes):
    fob = Fob(see_time=False)
    r = fob.call("setup", time=WHEN, accounts=accounts("alice"))
    assert r["ok"] and r["password"] is False and "tries_left" not in r
    assert fob.holder.prompts == [
        "Set up fob?\nClock: 2027-01-15 09:00 UTC\nIssuer: Example\nName: alice\nCheck: "
        + checks.text(checks.setup(WHEN, None, host_accounts(accounts("alice"))))
    ]
    assert not fob.proto.guard.has_password and fob.labels() == ["Example / alice"]
    clock_only = Fob(see_time=False)
    r = clock_only.call("setup", time=WHEN)
    assert r["ok"] and "codes" not in r and clock_only.labels() == []
    assert clock_only.holder.prompts[0].startswith("Set up fob?\nClock: 2027-01-15 09:00 UTC\n")


@pytest.mark.parametrize("held", ["accounts", "password"])
def test_a_fob_in_use_is_refused_before_anybody_is_asked(held):
    fob = Fob([Account("old", "Example", base64.b32decode(B32))] if held == "accounts" else ())
    if held == "password":
        assert fob.call("password_set", **password())["ok"]
        fob.holder.prompts.clear()
    before = state(fob)
    r = fob.call("setup", time=WHEN, accounts=accounts("alice"), **password())
    assert r["error"]["code"] == "not_fresh"
    # The message names the single requests to use instead.
    for name in ("time_set", "password_set", "add_many", "nothing was changed"):
        assert name in r["error"]["message"]
    assert fob.holder.prompts == [] and state(fob) == before


@pytest.mark.parametrize(
    "args, code",
    [
        ({"accounts": accounts("a")}, "bad_argument"),  # no time
        ({"time": 5, "accounts": accounts("a")}, "bad_argument"),
        ({"time": WHEN, "accounts": accounts("a", secret="not base32!")}, "bad_secret"),
        ({"time": WHEN, "accounts": accounts("a", "a")}, "duplicate"),
        ({"time": WHEN, "accounts": "a"}, "bad_argument"),
        ({"time": WHEN, "accounts": accounts(*"abcdefghi")}, "full"),
        ({"time": WHEN, "salt": SALT.hex(), "iterations": 1, "key": KEY.hex()}, "bad_argument"),
        ({"time": WHEN, "salt": SALT.hex(), "iterations": auth.ITERATIONS_MIN}, "bad_argument"),
        ({"time": WHEN, "iterations": auth.ITERATIONS_MIN}, "bad_argument"),
    ],
)
def test_a_bad_part_refuses_the_whole_setup_before_the_question(args, code):
    fob = Fob(see_time=False)
    before = state(fob)
    r = fob.call("setup", **args)
    assert r["error"]["code"] == code, r
    assert fob.holder.prompts == [] and state(fob) == before


def test_a_no_leaves_the_fob_fresh():
    fob = Fob(presence=False, see_time=False)
    before = state(fob)
    r = fob.call("setup", time=WHEN, accounts=accounts("alice"), **password())
    assert r["error"]["code"] == "refused"
    assert len(fob.holder.prompts) == 1 and state(fob) == before


def test_the_check_value_covers_every_part():
    # The value the fob shows changes with the time, the password and each account, so a
    # question about any other setup than the one this host sent shows another value.
    items = host_accounts(accounts("alice"))
    base = checks.setup(WHEN, KEY, items)
    others = [
        checks.setup(WHEN + 1, KEY, items),
        checks.setup(WHEN, None, items),
        checks.setup(WHEN, b"k" * 32, items),
        checks.setup(WHEN, KEY, host_accounts(accounts("alicf"))),
        checks.setup(WHEN, KEY, host_accounts(accounts("alice", secret=OTHER))),
        checks.setup(WHEN, KEY, []),
    ]
    assert len({base, *others}) == len(others) + 1
    # The fob's chain is a separate implementation of the same bytes.
    fob_h = fresh.check_value(WHEN, KEY, checks.accounts(items))
    assert fob_h == base
    assert fresh.check_value(WHEN, None, None) == checks.setup(WHEN, None, [])


def test_a_power_cut_after_the_password_leaves_a_fob_that_is_no_longer_fresh(passes):
    # Each part is on flash before the next begins: cut after the password's write, the
    # fob restarts with its clock and password and no accounts (a rerun logs in and adds).
    fob = Fob(see_time=False)
    fob.port.inbox += (
        b'{"id": 1, "cmd": "setup", "time": %d, "salt": "%s", "iterations": %d, "key": "%s", '
        b'"accounts": [{"name": "alice", "secret": "%s"}]}\n'
        % (WHEN, SALT.hex().encode(), auth.ITERATIONS_MIN, KEY.hex().encode(), B32.encode())
    )
    for _ in range(1000):
        fob.proto.poll()
        if fob.proto.guard.has_password:
            break
    assert fob.proto.guard.has_password and fob.labels() == [] and fob.clock.sets
    assert fob.proto.streaming  # the accounts' part is still to come, in later passes
    after = Fob(flash=fob.flash, clock=fob.clock, see_time=False)
    assert after.proto.guard.has_password and after.labels() == []
    assert after.call("setup", time=WHEN)["error"]["code"] == "not_fresh"


def test_a_clock_that_cannot_be_set_stops_the_setup_before_the_password(passes):
    fob = Fob(see_time=False)
    fob.clock.fail = True
    r = fob.call("setup", time=WHEN, accounts=accounts("alice"), **password())
    assert r["error"]["code"] == "io"
    assert not fob.proto.guard.has_password and fob.labels() == []


def test_the_client_sets_up_a_fresh_fob_with_one_press(socket_fob):
    from otpfob.transport import connect

    items = accounts("alice@example.com")
    prompts = []
    with FobClient(connect(socket_fob.url), timeout=5.0) as client:
        client.on_prompt = lambda prompt, check: prompts.append((prompt, check))
        assert takes_setup(client.hello())
        r = client.setup(password="correct horse", accounts=host_accounts(items))
        assert r["password"] is True and r["added"] == 1
        assert r["codes"] == [pyotp.TOTP(B32).at(r["time"])]
        with pytest.raises(FobError) as e:
            client.setup(WHEN, accounts=host_accounts(accounts("bob")))
        assert e.value.code == "not_fresh"
    assert len(socket_fob.presence.prompts) == 1
    shown = socket_fob.presence.prompts[0]
    assert len(prompts) == 1 and shown == prompts[0][0] + "\nCheck: " + prompts[0][1]
    assert "Password: set\nIssuer: Example\nName: alice@example.com" in shown
    assert [a.label() for a in socket_fob.vault.accounts] == ["Example / alice@example.com"]
