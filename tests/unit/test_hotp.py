"""HOTP (counter-based) accounts on the fob: stored with their counter, each code given
once, the counter saved moved on before the code is shown or sent (so a power cut never
shows a code twice), a host gets one only with a press, and the holder gets the next one
at a press on the fob."""

import base64

import pyotp
import pytest
from fakes import RFC4226_CODES, RFC4226_KEY, MemFS
from fob_fakes import Fob

from fob import counters as counters_mod
from fob.vault import Account, Vault
from otpfob import check as checks

RFC_KEY, RFC_CODES = RFC4226_KEY, RFC4226_CODES
RFC_B32 = base64.b32encode(RFC_KEY).decode()


def hotp_fob(counter=3, **kw):
    fob = Fob(**kw)
    r = fob.call("add", issuer="Bank", name="card", secret=RFC_B32, type="hotp", counter=counter)
    assert r["ok"], r
    return fob


def test_an_hotp_account_is_stored_with_its_counter_and_listed_as_such():
    fob = hotp_fob(3)
    acc = fob.vault.accounts[0]
    assert acc.hotp and acc.algorithm == "SHA1"
    assert fob.vault.counters().get(acc) == 3
    item = fob.call("list")["accounts"][0]
    assert (item["type"], item["counter"]) == ("hotp", 3)
    assert "hotp" in fob.call("info")["types"]
    # The add gives no code: it would use a counter value up.
    assert "code" not in fob.call("add", issuer="Bank", name="card2", secret=RFC_B32, type="hotp")


def test_each_code_a_host_asks_for_is_the_next_one_and_needs_a_press():
    fob = hotp_fob(3)
    fob.settings.usb_codes = True  # codes over USB without a press: not for HOTP
    got = []
    for n in range(3):
        r = fob.call("code", index=0)
        entry = r["codes"][0]
        assert entry["type"] == "hotp" and entry["counter"] == 3 + n
        got.append(entry["code"])
    assert got == RFC_CODES[3:6]
    assert [p.split("\n")[0] for p in fob.holder.prompts[-3:]] == [
        "Send the next code of #1 to the computer?"
    ] * 3
    assert fob.vault.counters().get(fob.vault.accounts[0]) == 6
    # A no gives nothing and moves nothing.
    fob.holder.reply = False
    assert fob.call("code", index=0)["error"]["code"] == "refused"
    assert fob.vault.counters().get(fob.vault.accounts[0]) == 6


def test_a_request_for_every_code_moves_no_counter():
    fob = hotp_fob(3)
    fob.call("add", issuer="Mail", name="alice", secret=RFC_B32)
    r = fob.call("code", all=True)
    by_name = {e["name"]: e for e in r["codes"]}
    assert by_name["card"]["code"] is None and by_name["card"]["error"]["code"] == "hotp"
    assert by_name["alice"]["code"] == pyotp.TOTP(RFC_B32).at(r["time"])
    assert fob.vault.counters().get(fob.vault.accounts[0]) == 3


def test_the_counter_is_saved_before_the_code_leaves_so_no_code_is_ever_given_twice():
    fob = hotp_fob(3)
    fob.flash.broken = True
    r = fob.call("code", index=0)
    assert r["error"]["code"] == "io" and "codes" not in r
    fob.flash.broken = False
    assert fob.call("code", index=0)["codes"][0]["code"] == RFC_CODES[3]
    # A power cut while the moved-on counter is written: the torn slot fails its check,
    # the older one says 4, and code 4 was never given (it comes after the write).
    counters = fob.vault.counters()
    newest = counters.paths[counters.slot]
    fob.flash.files[newest] = fob.flash.files[newest][:-3]
    again = counters_mod.Counters("/", fob.flash)
    assert again.get(fob.vault.accounts[0]) == 3


def test_a_rename_keeps_the_counter_and_a_reset_forgets_it():
    fob = hotp_fob(5)
    assert fob.call("rename", index=0, name="debit")["ok"]
    assert fob.vault.counters().get(fob.vault.accounts[0]) == 5
    assert fob.call("code", index=0)["codes"][0]["code"] == RFC_CODES[5]
    assert fob.call("reset", confirm=True)["ok"]
    assert counters_mod.Counters("/", fob.flash).table == {}


def test_a_staged_import_keeps_each_hotp_counter_and_the_check_value_covers_it():
    fob = Fob()
    token = "ab" * 16
    accounts = [
        {"issuer": "Bank", "name": "card", "secret": RFC_B32, "type": "hotp", "counter": 8},
        {"issuer": "Mail", "name": "alice", "secret": RFC_B32},
    ]
    assert fob.call("add_many", accounts=accounts[:1], batch=token, part=0, stage=True)["ok"]
    assert fob.call("add_many", accounts=accounts[1:], batch=token, part=1)["added"] == 2
    card = fob.vault.accounts[0]
    assert card.hotp and fob.vault.counters().get(card) == 8
    h = checks.account(checks.start(), "Bank", "card", RFC_KEY, period=0, kind=1, counter=8)
    h = checks.account(h, "Mail", "alice", RFC_KEY)
    assert fob.holder.prompts[-1] == "Add 2 accounts?\nCheck: " + checks.text(h)


@pytest.mark.parametrize(
    "args, why",
    [
        ({"type": "hotp", "counter": -1}, "counter"),
        ({"type": "hotp", "counter": 2**32}, "counter"),
        ({"type": "hotp", "algorithm": "STEAM"}, "Steam"),
        ({"type": "event"}, "type"),
    ],
)
def test_bad_hotp_arguments_are_refused_clearly(args, why):
    fob = Fob()
    r = fob.call("add", name="x", secret=RFC_B32, **args)
    assert r["error"]["code"] == "bad_argument" and why in r["error"]["message"]
    assert fob.vault.accounts == []


def test_a_vault_record_of_an_hotp_account_survives_a_reload():
    fs = MemFS()
    v = Vault("/", fs)
    v.load()
    v.add(Account("card", "Bank", RFC_KEY, hotp=True))
    again = Vault("/", fs)
    assert again.load() == "ok" and again.accounts[0].hotp


def test_the_clients_typed_accounts_and_codes_keep_every_member_the_fob_gives():
    from otpfob.client import Code, Credential

    fob = hotp_fob(3)
    fob.call("add", issuer="Mail", name="alice", secret=RFC_B32, period=60, digits=8)
    fob.settings.usb_codes = True
    listed = fob.call("list")["accounts"]
    creds = [Credential.from_reply(e) for e in listed]
    assert [c.to_json() for c in creds] == listed
    assert (creds[0].kind, creds[0].counter, creds[0].label) == ("hotp", 3, "Bank:card")
    assert (creds[1].kind, creds[1].period, creds[1].digits) == ("totp", 60, 8)
    every = fob.call("code", all=True)
    codes = [Code.from_reply(e, every["time"]) for e in every["codes"]]
    assert [c.to_json() for c in codes] == [dict(e, time=every["time"]) for e in every["codes"]]
    assert codes[0].value is None and codes[0].error[0] == "hotp"
    assert codes[1].value == pyotp.TOTP(RFC_B32, digits=8, interval=60).at(every["time"])
    one = fob.call("code", index=0)
    code = Code.from_reply(one["codes"][0], one["time"])
    assert code.to_json() == dict(one["codes"][0], time=one["time"])
    assert (code.kind, code.counter, code.value) == ("hotp", 3, RFC_CODES[3])
