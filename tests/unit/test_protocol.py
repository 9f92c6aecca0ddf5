"""The wire protocol: JSON lines in, one reply per line out, never a secret, never a crash."""

import base64
import hashlib
import hmac
import json
import struct

import pyotp
import pytest
from fakes import SECRET, SECRET_B32, T0, FakePort, FakeRtc, Fob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fob import clockset, otp, policy, provision, wire
from fob.protocol import MAX_LINE
from fob.vault import Account

# A staged batch's token, as a host picks it at random (docs/protocol.md, add_many).
TOKEN = "ab" * 16


def ok(reply):
    assert reply["ok"] is True, reply
    return reply


def err(reply, code):
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == code, reply
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
    return reply["error"]["message"]


def acc(name="alice@example.com", issuer="Example", secret=SECRET, **kw):
    return Account(name, issuer, secret, **kw)


@pytest.fixture
def fob():
    return Fob(
        [
            acc(),
            acc("bob", "Bank", b"0123456789abcdefghij", algorithm="SHA256", digits=8, period=60),
        ]
    )


# -- hello / info / time -------------------------------------------------------------


def test_hello_and_info_describe_the_fob(fob):
    for cmd in ("hello", "info"):
        r = ok(fob.call(cmd))
        assert r["protocol"] == 2 and isinstance(r["firmware"], str)
        assert r["serial"] == "e661abcd" and r["board"] == "Test board"
        assert set(policy.names()) == set(r["capabilities"])
        assert r["capacity"] >= 200 and r["accounts"] == 2
        assert r["bytes_used"] == fob.vault.bytes_used and r["bytes_free"] > 0
        assert r["time"] == T0 and r["clock"] == "ok" and r["max_line"] == MAX_LINE
        assert r["algorithms"] == ["SHA1", "SHA256", "SHA512", "STEAM"]
        assert r["display"] == "128x64" and r["buttons"] == ["A", "B"]
    fob.clock.reason = "power_lost"
    r = ok(fob.call("info"))
    assert r["time"] is None and r["clock"] == "power_lost"


def test_time_get_and_set(fob):
    # A clock without a DS3231 behind it has no aging offset to report.
    assert ok(fob.call("time_get")) == {
        "id": 1,
        "ok": True,
        "time": T0,
        "valid": True,
        "clock": "ok",
        "aging": None,
    }
    fob.clock.reason = "power_lost"
    r = ok(fob.call("time_get"))
    assert r["time"] is None and r["valid"] is False and r["clock"] == "power_lost"
    r = ok(fob.call("time_set", time=T0 + 5))
    # A pressed set (the clock was not set) adds the time the answer took, rounded to the
    # next second beyond 20 ms: a busy machine may take that long between two polls.
    assert r["time"] in (T0 + 5, T0 + 6) and r["valid"] is True and fob.clock.t == r["time"]


@pytest.mark.parametrize("value", [None, "1800000000", 1.8e9, True, 946684799, 4102444800])
def test_time_set_rejects_bad_times(fob, value):
    args = {} if value is None else {"time": value}
    msg = err(fob.call("time_set", **args), "bad_argument")
    assert "time" in msg
    assert fob.clock.t == T0


def test_time_set_on_a_failing_rtc_is_an_io_error(fob):
    fob.clock.fail = True
    err(fob.call("time_set", time=T0 + 100), "io")


def test_a_clock_set_answers_with_time_gets_reply_and_the_window_left(fob):
    fob.clock.rtc = FakeRtc(9)
    r = ok(fob.call("time_set", time=T0 + 5))
    got = ok(fob.call("time_get"))
    assert r["window_left"] < clockset.CLOCK_WINDOW
    del r["window_left"], r["id"], got["id"]
    # The set lands on the next second when the answer took over 20 ms (a busy machine).
    assert r["time"] in (T0 + 5, T0 + 6)
    assert r == got == {"ok": True, "time": r["time"], "valid": True, "clock": "ok", "aging": 9}


def test_the_clock_commands_read_the_time_without_the_everyday_commands():
    # fob/clockset.py loads at the first clock change; fob/commands.py is not its to load.
    import ast
    from pathlib import Path

    tree = ast.parse(Path(clockset.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.update((node.module or "") + "." + a.name for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert imported and not [m for m in imported if "commands" in m], sorted(imported)


# -- add -----------------------------------------------------------------------------


def test_add_stores_the_account_with_defaults(fob):
    r = ok(fob.call("add", name="carol", issuer="Mail", secret="jbsw y3dp ehpk 3pxp"))
    # The reply carries the new account's code at the fob's time: a host checks the add
    # without asking for a code (which would need another press).
    mac = hmac.new(
        base64.b32decode("JBSWY3DPEHPK3PXP"), struct.pack(">Q", T0 // 30), hashlib.sha1
    ).digest()
    code = "%06d" % ((struct.unpack(">I", mac[(mac[-1] & 15) :][:4])[0] & 0x7FFFFFFF) % 10**6)
    assert r == {"id": 1, "ok": True, "index": 2, "replaced": False, "code": code, "time": T0}
    a = fob.vault.accounts[2]
    assert (a.name, a.issuer, a.secret) == ("carol", "Mail", base64.b32decode("JBSWY3DPEHPK3PXP"))
    assert (a.algorithm, a.digits, a.period, a.created) == ("SHA1", 6, 30, T0)


def test_add_takes_algorithm_in_any_case_and_steam_defaults_to_5_digits(fob):
    ok(fob.call("add", name="x", secret=SECRET_B32, algorithm="sha512", digits=7, period=45))
    ok(fob.call("add", name="s", issuer="Steam", secret=SECRET_B32, algorithm="Steam"))
    x, s = fob.vault.accounts[2:]
    assert (x.algorithm, x.digits, x.period) == ("SHA512", 7, 45)
    assert (s.algorithm, s.digits) == ("STEAM", 5)


def test_add_with_clock_not_set_records_created_zero(fob):
    fob.clock.reason = "power_lost"
    ok(fob.call("add", name="x", secret=SECRET_B32))
    assert fob.vault.accounts[-1].created == 0


def test_short_secret_is_accepted_with_a_warning(fob):
    r = ok(fob.call("add", name="weak", secret="MFRGGZDF"))  # 5 bytes
    assert "40 bits" in r["warning"]
    assert len(fob.vault.accounts) == 3


@pytest.mark.parametrize(
    "secret, words",
    [
        (None, "base32"),
        (12345, "base32"),
        ("JBSWY3DP!", "secret"),
        ("ME======", "1 bytes"),
        ("", "secret"),
        (base64.b32encode(b"x" * 129).decode(), "129 bytes"),
        ("A" * 600, "too long"),
    ],
)
def test_bad_secret_is_rejected_without_echoing_it(fob, secret, words):
    before = fob.state()
    args = {"name": "n"}
    if secret is not None:
        args["secret"] = secret
    msg = err(fob.call("add", **args), "bad_secret")
    assert words in msg
    if isinstance(secret, str) and len(secret) >= 4:
        assert secret[:8] not in msg
    assert fob.state() == before


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(name="n" * 65), "name is 65 bytes"),
        (dict(name=5), "name must be a string"),
        (dict(issuer=["x"]), "issuer must be a string"),
        (dict(name="", issuer=""), "both empty"),
        (dict(name="a\tb"), "control"),
        (dict(algorithm="MD5"), "algorithm"),
        (dict(digits=9), "digits"),
        (dict(digits="6"), "digits"),
        (dict(algorithm="STEAM", digits=6), "digits"),
        (dict(period=0), "period"),
        (dict(period=True), "period"),
        (dict(overwrite="yes"), "overwrite"),
    ],
)
def test_add_rejects_bad_arguments_naming_them(fob, args, words):
    before = fob.state()
    req = {"name": "n", "secret": SECRET_B32}
    req.update(args)
    msg = err(fob.call("add", **req), "bad_argument")
    assert words in msg
    assert fob.state() == before


def test_add_duplicate_then_overwrite_in_place(fob):
    before = fob.state()
    msg = err(
        fob.call("add", name="ALICE@example.com", issuer="example", secret="MFRGGZDFMZTWQ2LK"),
        "duplicate",
    )
    assert "alice@example.com" in msg.lower()
    assert fob.state() == before
    r = ok(
        fob.call(
            "add",
            name="ALICE@example.com",
            issuer="example",
            secret="MFRGGZDFMZTWQ2LK",
            overwrite=True,
        )
    )
    assert r["index"] == 0 and r["replaced"] is True
    assert fob.vault.accounts[0].secret == b"abcdefghij"
    assert len(fob.vault.accounts) == 2


def test_add_when_full_is_rejected(fob):
    fob.vault.add_many([acc("u%d" % i) for i in range(fob.vault.capacity - 2)])
    before = fob.state()
    err(fob.call("add", name="one too many", secret=SECRET_B32), "full")
    assert fob.state() == before


def test_flash_failure_is_an_io_error_and_changes_nothing(fob):
    fob.fs.broken = True
    before = fob.state()
    err(fob.call("add", name="x", secret=SECRET_B32), "io")
    err(fob.call("delete", index=0), "io")
    assert fob.state() == before


# -- add_many ------------------------------------------------------------------------


def test_add_many_adds_all_in_one_write(fob):
    fob.fs.writes = 0
    r = ok(
        fob.call(
            "add_many",
            accounts=[
                {"name": "n1", "secret": SECRET_B32},
                {
                    "name": "n2",
                    "issuer": "I",
                    "secret": "MFRGGZDF",
                    "algorithm": "SHA256",
                    "digits": 8,
                },
                {"name": "alice@example.com", "issuer": "Example", "secret": "MFRGGZDFMZTWQ2LK"},
            ],
            overwrite=True,
        )
    )
    assert r["added"] == 2 and r["replaced"] == 1 and r["indexes"] == [2, 3, 0]
    assert r["warnings"] == ["accounts[1]: secret is only 40 bits; RFC 4226 asks for at least 128"]
    assert fob.fs.writes == 1
    assert [a.name for a in fob.vault.accounts] == ["alice@example.com", "bob", "n1", "n2"]


def test_a_long_change_is_made_a_step_a_pass_and_requests_meanwhile_wait_their_turn(fob):
    # 100 accounts (a batch's most): placed and written over many passes of the loop (fob/wire.py's WORK),
    # none doing more than a step's worth; a request sent meanwhile is answered after it.
    from fob import vault_edit

    items = [{"name": "u%03d" % i, "secret": SECRET_B32} for i in range(100)]
    for part in range(5):  # staged as the CLI sends it: lines stay under MAX_LINE
        ok(
            fob.call(
                "add_many",
                accounts=items[part * 20 : part * 20 + 20],
                batch=TOKEN,
                part=part,
                stage=True,
            )
        )
    fob.port.inbox += (
        json.dumps({"id": 7, "cmd": "add_many", "accounts": [], "batch": TOKEN, "part": 5}).encode()
        + b"\n"
    )
    writes = []
    real = vault_edit._write_slot_steps

    def counted(*a):
        for _ in real(*a):
            writes.append(1)
            yield

    vault_edit._write_slot_steps = counted
    try:
        passes = 0
        sent = False
        text = ""
        while True:
            fob.proto.poll()
            passes += 1
            text += fob.port.take().decode()
            if fob.vault.busy and not sent:
                sent = True
                fob.port.inbox += b'{"id": 8, "cmd": "list"}\n'
            if sent and not fob.proto.pending and not fob.port.inbox:
                break
            assert passes < 400
    finally:
        vault_edit._write_slot_steps = counted = real
    out = [json.loads(line) for line in text.splitlines()]
    final = [r for r in out if "pending" not in r]
    assert [r["id"] for r in final] == [7, 8], out
    assert final[0]["ok"] and final[0]["added"] == 100
    assert len(final[1]["accounts"]) == 102
    # 100 placed in steps of _STEP_RECORDS, then 102 records written the same way.
    assert passes >= 100 // vault_edit._STEP_RECORDS * 2
    assert len(writes) >= 100 // vault_edit._STEP_RECORDS
    assert not fob.vault.busy and len(fob.vault.accounts) == 102


def test_the_holders_delete_waits_while_a_hosts_change_is_written(fob):
    steps = fob.vault.steps(
        "add", fob.vault.accounts[0].__class__("carol", "Ex", b"12345678901234567890")
    )
    next(steps)
    assert fob.vault.busy
    with pytest.raises(Exception) as e:
        fob.vault.delete(0)
    assert getattr(e.value, "code", None) == "busy"
    for _ in steps:
        pass
    assert not fob.vault.busy and [a.name for a in fob.vault.accounts][-1] == "carol"


@pytest.mark.parametrize(
    "items, code, where",
    [
        (
            [{"name": "ok", "secret": SECRET_B32}, {"name": "bad", "secret": "!!"}],
            "bad_secret",
            "accounts[1]",
        ),
        (
            [
                {"name": "ok", "secret": SECRET_B32},
                {"name": "bad", "secret": SECRET_B32, "digits": 4},
            ],
            "bad_argument",
            "accounts[1]",
        ),
        ([{"name": "ok", "secret": SECRET_B32}, "not an object"], "bad_argument", "accounts[1]"),
        (
            [{"name": "ok", "secret": SECRET_B32}, {"name": "OK", "secret": SECRET_B32}],
            "duplicate",
            "accounts[1]",
        ),
        ([{"name": "bob", "issuer": "bank", "secret": SECRET_B32}], "duplicate", "accounts[0]"),
        ([{"name": "n" * 70, "secret": SECRET_B32}], "bad_argument", "accounts[0]"),
    ],
)
def test_add_many_is_all_or_nothing(fob, items, code, where):
    before = fob.state()
    msg = err(fob.call("add_many", accounts=items), code)
    assert msg.startswith(where)
    assert fob.state() == before


def test_add_many_needs_a_list(fob):
    err(fob.call("add_many", accounts={"name": "x"}), "bad_argument")
    err(fob.call("add_many"), "bad_argument")


# -- staged add_many batches ---------------------------------------------------------


def _items(first, n, secret=SECRET_B32):
    return [
        {"name": "u%03d" % i, "issuer": "Batch", "secret": secret} for i in range(first, first + n)
    ]


class FakeTime:
    def __init__(self):
        self.t = 1000.0

    def monotonic(self):
        return self.t

    time = monotonic


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(wire, "time", fake)
    return fake


def test_staged_parts_write_the_vault_once_at_the_last_part(fob):
    fob.fs.writes = 0
    before = fob.state()
    r0 = ok(fob.call("add_many", accounts=_items(0, 3), batch=TOKEN, part=0, stage=True))
    r1 = ok(
        fob.call(
            "add_many",
            accounts=_items(3, 2) + [{"name": "weak", "secret": "MFRGGZDF"}],
            batch=TOKEN,
            part=1,
            stage=True,
        )
    )
    assert (r0["staged"], r0["part"], r1["staged"], r1["part"]) == (3, 0, 6, 1)
    # The weak secret is element 5 of the batch, not of its own request.
    assert r1["warnings"] == ["accounts[5]: secret is only 40 bits; RFC 4226 asks for at least 128"]
    assert fob.state() == before and fob.fs.writes == 0 and provision.staged(fob.proto) == 6
    r = ok(fob.call("add_many", accounts=_items(6, 2), batch=TOKEN, part=2))
    assert fob.fs.writes == 1 and fob.proto.stage is None
    assert (r["added"], r["replaced"], r["indexes"]) == (8, 0, list(range(2, 10)))
    assert [a.name for a in fob.vault.accounts][2:] == [
        "u000",
        "u001",
        "u002",
        "u003",
        "u004",
        "weak",
        "u006",
        "u007",
    ]


def test_staged_batch_with_overwrite_counts_replacements(fob):
    fob.fs.writes = 0
    ok(
        fob.call(
            "add_many",
            accounts=[
                {"name": "Alice@example.com", "issuer": "example", "secret": "MFRGGZDFMZTWQ2LK"}
            ],
            batch=TOKEN,
            part=0,
            stage=True,
            overwrite=True,
        )
    )
    r = ok(fob.call("add_many", accounts=_items(0, 1), batch=TOKEN, part=1, overwrite=True))
    assert (r["added"], r["replaced"], r["indexes"]) == (1, 1, [0, 2])
    assert fob.fs.writes == 1 and fob.vault.accounts[0].secret == b"abcdefghij"


@pytest.mark.parametrize(
    "second, code, where",
    [
        (_items(1, 1), "duplicate", "accounts[2]"),  # same as element 1
        ([{"name": "bob", "issuer": "BANK", "secret": SECRET_B32}], "duplicate", "accounts[2]"),
        ([{"name": "x", "secret": "!!"}], "bad_secret", "accounts[2]"),
    ],
)
def test_a_failing_part_drops_the_whole_batch(fob, second, code, where):
    before = fob.state()
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    msg = err(fob.call("add_many", accounts=second, batch=TOKEN, part=1, stage=True), code)
    assert msg.startswith(where + ": ")
    assert fob.proto.stage is None
    err(fob.call("add_many", accounts=_items(5, 1), batch=TOKEN, part=2), "no_batch")
    assert fob.state() == before


def test_staged_batch_checks_capacity_against_the_total():
    f = Fob([acc("n%d" % i, "Fill", b"0123456789") for i in range(196)])
    before = f.state()
    ok(f.call("add_many", accounts=_items(0, 3), batch=TOKEN, part=0, stage=True))
    msg = err(f.call("add_many", accounts=_items(3, 3), batch=TOKEN, part=1, stage=True), "full")
    assert msg.startswith("accounts[4]: ")
    assert f.state() == before and provision.staged(f.proto) == 0


def test_staged_batch_checks_vault_bytes_against_the_total():
    big = "A" * 205  # 128 bytes once decoded
    # 269 bytes each on flash: the 40960-byte vault takes 152 of them; 80 are there.
    f = Fob([acc("p%03d" % i + "x" * 60, "i" * 64, b"\0" * 128) for i in range(80)])
    before = f.state()
    for p in range(50):
        items = [
            {"name": "n%03d" % (4 * p + i) + "x" * 60, "issuer": "i" * 64, "secret": big}
            for i in range(4)
        ]
        r = f.call("add_many", accounts=items, batch=TOKEN, part=p, stage=True)
        if not r["ok"]:
            break
    assert "bytes free" in err(r, "full") and p == 18
    assert f.state() == before and provision.staged(f.proto) == 0


def test_a_batch_token_is_hex_digits_only(fob):
    # A token the fob would hold but no hex-speaking host could repeat is refused, and
    # holds nobody's import up (found by the frame fuzzer: a leading space).
    for bad in (" " + "ba" * 16, "xy" * 16, "ab" * 7):
        msg = err(
            fob.call("add_many", accounts=_items(0, 1), batch=bad, part=0, stage=True),
            "bad_argument",
        )
        assert "hex digits" in msg
    assert provision.staged(fob.proto) == 0
    ok(fob.call("add_many", accounts=_items(0, 1), batch=TOKEN, part=0, stage=True))


def test_a_batch_holds_at_most_batch_max_accounts(fob):
    # Staged in RAM until its commit: a host splits more into batches (hello says how many).
    assert ok(fob.call("hello"))["limits"]["batch_max"] == 100
    for p in range(5):
        ok(fob.call("add_many", accounts=_items(20 * p, 20), batch=TOKEN, part=p, stage=True))
    msg = err(fob.call("add_many", accounts=_items(100, 1), batch=TOKEN, part=5), "full")
    assert msg.startswith("accounts[100]: ") and "at most 100" in msg
    assert provision.staged(fob.proto) == 0 and len(fob.vault.accounts) == 2


def test_abort_drops_the_batch(fob):
    before = fob.state()
    ok(fob.call("add_many", accounts=_items(0, 4), batch=TOKEN, part=0, stage=True))
    # Another program can neither drop the batch nor start one of its own over it.
    assert ok(fob.call("abort", batch="cd" * 16))["dropped"] == 0
    err(fob.call("add_many", accounts=_items(9, 1), batch="cd" * 16, part=0, stage=True), "busy")
    err(fob.call("add_many", accounts=_items(9, 1), batch="cd" * 16, part=1), "no_batch")
    assert provision.staged(fob.proto) == 4
    assert ok(fob.call("abort", batch=TOKEN))["dropped"] == 4
    err(fob.call("add_many", accounts=[], batch=TOKEN, part=1), "no_batch")
    assert ok(fob.call("abort"))["dropped"] == 0
    assert fob.state() == before


def test_part_zero_starts_a_new_batch_dropping_the_old_one(fob):
    ok(fob.call("add_many", accounts=_items(0, 4), batch=TOKEN, part=0, stage=True))
    ok(fob.call("add_many", accounts=_items(10, 1), batch=TOKEN, part=0, stage=True))
    r = ok(fob.call("add_many", accounts=[], batch=TOKEN, part=1))
    assert r["indexes"] == [2]
    assert [a.name for a in fob.vault.accounts] == ["alice@example.com", "bob", "u010"]


def test_staged_batch_expires_when_the_host_goes_quiet(fob, clock):
    before = fob.state()
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    clock.t += 20
    ok(fob.call("add_many", accounts=_items(2, 2), batch=TOKEN, part=1, stage=True))
    clock.t += 29
    fob.proto.poll()
    assert provision.staged(fob.proto) == 4
    clock.t += 2
    fob.proto.poll()
    assert fob.proto.stage is None
    err(fob.call("add_many", accounts=_items(4, 1), batch=TOKEN, part=2), "no_batch")
    assert fob.state() == before


def test_staged_batch_is_dropped_when_the_host_disconnects(fob):
    fob.port.connected = True
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    fob.proto.poll()
    assert provision.staged(fob.proto) == 2
    fob.port.connected = False
    fob.proto.poll()
    fob.port.connected = True
    assert fob.proto.stage is None
    err(fob.call("add_many", accounts=[], batch=TOKEN, part=1), "no_batch")
    assert len(fob.vault.accounts) == 2


def test_port_that_never_reports_a_host_keeps_the_batch_until_timeout(fob):
    # Some hosts never raise DTR, so usb_cdc's `connected` stays False all along.
    fob.port.connected = False
    fob.proto.poll()  # the fob sees the port as it is from then on
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    fob.proto.poll()
    assert ok(fob.call("add_many", accounts=[], batch=TOKEN, part=1))["added"] == 2


# A request that cannot be the batch sender's part (no part, no token or another's)
# leaves the batch alone; a part of the batch that fails drops all of it.
@pytest.mark.parametrize(
    "args, code, kept",
    [
        ({"stage": True, "batch": TOKEN}, "bad_argument", 1),  # no part
        ({"part": 1, "stage": True}, "bad_argument", 1),  # no batch token
        ({"part": 1, "stage": True, "batch": "cd" * 16}, "no_batch", 1),  # another sender's
        ({"part": 1, "stage": True, "batch": "ab"}, "bad_argument", 1),  # a token too short
        ({"part": -1, "stage": True, "batch": TOKEN}, "bad_argument", 1),
        ({"stage": "yes", "part": 1, "batch": TOKEN}, "bad_argument", 0),
        ({"part": 2, "stage": True, "batch": TOKEN}, "no_batch", 0),  # part 1 is next
        ({"part": 1, "overwrite": True, "batch": TOKEN}, "bad_argument", 0),  # overwrite differs
    ],
)
def test_batch_part_errors(fob, args, code, kept):
    before = fob.state()
    ok(fob.call("add_many", accounts=_items(0, 1), batch=TOKEN, part=0, stage=True))
    err(fob.call("add_many", accounts=_items(1, 1), **args), code)
    assert provision.staged(fob.proto) == kept and fob.state() == before


def test_flash_failure_at_the_last_part_stores_nothing(fob):
    before = fob.state()
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    fob.fs.broken = True
    err(fob.call("add_many", accounts=_items(2, 1), batch=TOKEN, part=1), "io")
    fob.fs.broken = False
    assert fob.state() == before and fob.proto.stage is None


def test_reset_drops_a_staged_batch(fob):
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    ok(fob.call("reset", confirm=True))
    err(fob.call("add_many", accounts=[], batch=TOKEN, part=1), "no_batch")
    assert fob.vault.accounts == []


def test_plain_add_many_leaves_a_staged_batch_alone(fob):
    ok(fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True))
    ok(fob.call("add_many", accounts=_items(5, 1), stage=False))
    r = ok(fob.call("add_many", accounts=[], batch=TOKEN, part=1))
    assert r["indexes"] == [3, 4]


def test_staged_batch_never_echoes_secrets(fob):
    out = json.dumps(
        [
            fob.call("add_many", accounts=_items(0, 2), batch=TOKEN, part=0, stage=True),
            fob.call(
                "add_many", accounts=[{"name": "w", "secret": "MFRGGZDF"}], part=1, stage=True
            ),
            fob.call("add_many", accounts=[], batch=TOKEN, part=2),
        ]
    )
    assert SECRET_B32[:8] not in out and "MFRGGZDF" not in out


# -- list / delete / rename / move ---------------------------------------------------


def test_list_gives_every_field_but_the_secret(fob):
    r = ok(fob.call("list"))
    assert r["accounts"] == [
        {
            "index": 0,
            "issuer": "Example",
            "name": "alice@example.com",
            "algorithm": "SHA1",
            "digits": 6,
            "period": 30,
            "created": 0,
        },
        {
            "index": 1,
            "issuer": "Bank",
            "name": "bob",
            "algorithm": "SHA256",
            "digits": 8,
            "period": 60,
            "created": 0,
        },
    ]


def test_list_of_an_empty_vault():
    assert ok(Fob().call("list"))["accounts"] == []


def test_long_list_is_written_over_several_polls_as_one_line():
    f = Fob([acc("user%03d" % i) for i in range(100)])
    f.port.inbox += b'{"id": 9, "cmd": "list"}\n'
    f.proto.poll()
    first = bytes(f.port.out)
    assert first and b"\n" not in first  # started, not finished in one pass
    f.run()
    r = ok(f.replies()[0])
    assert [a["name"] for a in r["accounts"]] == ["user%03d" % i for i in range(100)]


def test_delete_by_index_and_by_issuer_and_name(fob):
    r = ok(fob.call("delete", index=1))
    assert r["deleted"] == {"index": 1, "issuer": "Bank", "name": "bob"}
    r = ok(fob.call("delete", issuer="EXAMPLE", name="Alice@Example.com"))
    assert r["deleted"]["index"] == 0
    assert fob.vault.accounts == []


@pytest.mark.parametrize(
    "args, code",
    [
        (dict(index=2), "not_found"),
        (dict(index=-1), "not_found"),
        (dict(index="0"), "bad_argument"),
        (dict(issuer="Nobody", name="x"), "not_found"),
        (dict(name="bob"), "not_found"),  # issuer defaults to ""
        (dict(index=0, name="bob"), "bad_argument"),
        (dict(), "bad_argument"),
    ],
)
def test_delete_errors(fob, args, code):
    before = fob.state()
    err(fob.call("delete", **args), code)
    assert fob.state() == before


def test_rename_and_move(fob):
    r = ok(fob.call("rename", index=0, name="alice2"))
    assert r == {"id": 1, "ok": True, "index": 0, "issuer": "Example", "name": "alice2"}
    ok(fob.call("rename", index=1, name="bob", issuer="Bank 2"))
    assert ok(fob.call("move", index=1, to=0))["index"] == 0
    assert [(a.issuer, a.name) for a in fob.vault.accounts] == [
        ("Bank 2", "bob"),
        ("Example", "alice2"),
    ]


@pytest.mark.parametrize(
    "cmd, args, code",
    [
        ("rename", dict(index=5, name="x"), "not_found"),
        ("rename", dict(index=0), "bad_argument"),
        ("rename", dict(index=0, name="bob", issuer="bank"), "duplicate"),
        ("rename", dict(index=0, name="x", issuer=3), "bad_argument"),
        ("rename", dict(index=0, name="x" * 65), "bad_argument"),
        ("move", dict(index=0, to=2), "not_found"),
        ("move", dict(index=0), "bad_argument"),
        ("move", dict(index=None, to=1), "bad_argument"),
    ],
)
def test_rename_and_move_errors(fob, cmd, args, code):
    before = fob.state()
    err(fob.call(cmd, **args), code)
    assert fob.state() == before


# -- code ----------------------------------------------------------------------------


def _steam(secret, t):
    mac = hmac.new(secret, struct.pack(">Q", t // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    n = struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF
    out = ""
    for _ in range(5):
        out += "23456789BCDFGHJKMNPQRTVWXY"[n % 26]
        n //= 26
    return out


def test_code_for_all_accounts_matches_reference(fob):
    fob.vault.add(acc("s", "Steam", b"steam-secret-bytes!!", algorithm="STEAM", digits=5))
    fob.clock.t = T0 + 7
    r = ok(fob.call("code"))
    assert r["time"] == T0 + 7
    codes = r["codes"]
    assert [c["index"] for c in codes] == [0, 1, 2]
    assert codes[0]["code"] == pyotp.TOTP(SECRET_B32).at(T0 + 7)
    assert codes[0]["seconds_left"] == 30 - (T0 + 7) % 30
    bob = pyotp.TOTP(
        base64.b32encode(b"0123456789abcdefghij").decode(),
        digits=8,
        digest=hashlib.sha256,
        interval=60,
    )
    assert codes[1]["code"] == bob.at(T0 + 7) and codes[1]["seconds_left"] == 60 - (T0 + 7) % 60
    assert codes[2]["code"] == _steam(b"steam-secret-bytes!!", T0 + 7)
    assert codes[1]["issuer"] == "Bank" and codes[1]["name"] == "bob"
    assert ok(fob.call("code", all=True))["codes"] == codes


def test_code_for_one_account(fob):
    r = ok(fob.call("code", index=1))
    assert [c["index"] for c in r["codes"]] == [1]
    err(fob.call("code", index=2), "not_found")
    err(fob.call("code", index="1"), "bad_argument")


def test_code_needs_a_set_clock(fob):
    fob.clock.reason = "power_lost"
    msg = err(fob.call("code"), "clock_not_set")
    assert "power_lost" in msg


def test_code_engine_failure_is_reported_per_account_without_detail(fob, monkeypatch):
    def broken(key, t, digits=6, period=30, algorithm="sha1"):
        if algorithm == "sha256":
            raise ValueError("bad key %r" % key)
        return "000000"

    monkeypatch.setattr(otp, "totp", broken)
    codes = ok(fob.call("code"))["codes"]
    assert codes[0]["code"] == "000000"
    assert codes[1]["code"] is None and codes[1]["error"]["code"] == "internal"
    assert "0123456789" not in json.dumps(codes)


# -- reset / selftest ----------------------------------------------------------------


def test_reset_needs_confirm_then_wipes(fob):
    before = fob.state()
    err(fob.call("reset"), "bad_argument")
    err(fob.call("reset", confirm="yes"), "bad_argument")
    assert fob.state() == before
    assert ok(fob.call("reset", confirm=True))["accounts"] == 0
    assert fob.vault.accounts == []
    assert all(SECRET not in bytes(f) for f in fob.fs.files.values())


def test_selftest_passes_on_the_real_engine(fob):
    r = ok(fob.call("selftest"))
    assert r["pass"] is True
    names = [c["name"] for c in r["checks"]]
    assert len(names) == 1 + 10 + 18 and all(c["pass"] for c in r["checks"])
    assert "rfc6238 sha512 t=20000000000" in names


def test_selftest_reports_a_broken_engine(fob, monkeypatch):
    real = otp.totp

    def off_by_one(key, t, digits=6, period=30, algorithm="sha1"):
        return real(key, t + 30, digits=digits, period=period, algorithm=algorithm)

    monkeypatch.setattr(otp, "totp", off_by_one)
    r = ok(fob.call("selftest"))
    assert r["pass"] is False
    bad = [c for c in r["checks"] if not c["pass"]]
    assert len(bad) == 18 and all("expected" in c and "got" in c for c in bad)


def test_selftest_module_is_dropped_after_the_reply(fob):
    import sys

    import fob as package

    ok(fob.call("selftest"))
    assert "fob.selftest" not in sys.modules and not hasattr(package, "selftest")


def test_everyday_commands_do_not_load_the_provisioning_module(monkeypatch):
    import sys

    import fob as package

    monkeypatch.delitem(sys.modules, "fob.provision", raising=False)
    monkeypatch.delattr(package, "provision", raising=False)
    f = Fob([acc()])
    for cmd in ("hello", "info", "time_get", "list", "code"):
        ok(f.call(cmd))
    assert "fob.provision" not in sys.modules
    loaded = []
    monkeypatch.setattr(f.vault, "steps", _noting(f.vault.steps, loaded))
    ok(f.call("delete", index=0))
    # Loaded for the delete, and let go once the change is made (no staged batch waits),
    # so its heap goes back to the codes.
    assert loaded == [True] and len(f.vault.accounts) == 0
    assert "fob.provision" not in sys.modules and "fob.vault_edit" not in sys.modules


def _noting(steps, loaded):
    # The vault's steps(), noting whether fob.provision was loaded when it was called.
    import sys

    def wrapped(*args):
        loaded.append("fob.provision" in sys.modules)
        return steps(*args)

    return wrapped


def test_a_change_that_runs_out_of_memory_or_is_refused_lets_its_modules_go(monkeypatch):
    # A rename out of memory on CircuitPython 9.2.8 left fob.provision loaded, and every
    # later request, hello too, ran out of memory as well.
    import sys

    f = Fob([acc(), acc("bob", "Bank")])

    def no_memory(*args):
        raise MemoryError

    with monkeypatch.context() as m:
        m.setattr(f.vault, "find", no_memory)
        assert "out of memory" in err(f.call("rename", index=0, name="carol"), "internal")
        assert "fob.provision" not in sys.modules
    ok(f.call("hello"))
    err(f.call("rename", index=0, name="bob", issuer="Bank"), "duplicate")
    assert "fob.provision" not in sys.modules
    ok(f.call("rename", index=0, name="carol"))
    assert [a.name for a in f.vault.accounts] == ["carol", "bob"]


def test_the_pure_hashes_a_code_reply_loaded_go_after_it(fob, monkeypatch):
    # Where the board has no hashlib for an algorithm, the pure compression is loaded for
    # its codes; those the reply loaded go again at its end (about 9 KB for SHA-256 and
    # SHA-512 on CircuitPython 9.2.8), and those loaded before it stay.
    import sys

    import fob as package
    from fob import hmac as fob_hmac

    fob.vault.add(acc("carol", "Big", SECRET, algorithm="SHA512"))
    monkeypatch.setattr(fob_hmac, "native", lambda name: None)
    for name in fob_hmac.PURE_MODULES:
        monkeypatch.delitem(sys.modules, "fob." + name, raising=False)
        monkeypatch.delattr(package, name, raising=False)
    fob_hmac.pure_module("sha256")
    loaded = []
    real = fob_hmac.pure_module

    def noting(name):
        loaded.append(name)
        return real(name)

    monkeypatch.setattr(fob_hmac, "pure_module", noting)
    codes = ok(fob.call("code"))["codes"]
    assert set(loaded) == {"sha1", "sha256", "sha512"}
    assert codes[2]["code"] == pyotp.TOTP(SECRET_B32, digest=hashlib.sha512).at(T0)
    assert "fob.sha256" in sys.modules
    assert not any("fob." + n in sys.modules for n in ("sha1", "sha1_wide", "sha512"))
    assert ok(fob.call("code"))["codes"] == codes


# -- framing and request errors ------------------------------------------------------


@pytest.mark.parametrize(
    "line, code",
    [
        (b"hello\n", "bad_json"),
        (b'{"id": 1, "cmd": "hello"\n', "bad_json"),
        (b"[1, 2]\n", "bad_json"),
        (b'"text"\n', "bad_json"),
        (b"\xff\xfe{}\n", "bad_json"),
        (b'{"cmd": "hello"}\n', "bad_request"),
        (b'{"id": 1.5, "cmd": "hello"}\n', "bad_request"),
        (b'{"id": [1], "cmd": "hello"}\n', "bad_request"),
        (b'{"id": true, "cmd": "hello"}\n', "bad_request"),
        (b'{"id": "' + b"x" * 65 + b'", "cmd": "hello"}\n', "bad_request"),
    ],
)
def test_unusable_requests_get_an_error_with_id_null(fob, line, code):
    out = fob.send(line)
    assert len(out) == 1 and out[0]["id"] is None
    err(out[0], code)


@pytest.mark.parametrize(
    "req, code",
    [
        ({"id": 3}, "bad_request"),
        ({"id": 3, "cmd": 5}, "bad_request"),
        ({"id": 3, "cmd": "frobnicate"}, "unknown_command"),
        ({"id": 3, "cmd": "__init__"}, "unknown_command"),
        ({"id": 3, "cmd": "HELLO"}, "unknown_command"),
    ],
)
def test_request_errors_keep_the_id(fob, req, code):
    out = fob.send(req)
    assert out[0]["id"] == 3
    err(out[0], code)


def test_string_ids_are_echoed(fob):
    out = fob.send({"id": "abc-1", "cmd": "time_get"})
    assert out[0]["id"] == "abc-1" and out[0]["ok"] is True


def test_request_byte_by_byte_across_polls(fob):
    line = json.dumps({"id": 42, "cmd": "add", "name": "é ✓", "secret": SECRET_B32}).encode()
    for b in line:
        fob.port.inbox.append(b)
        fob.proto.poll()
        assert fob.port.out == b""
    fob.port.inbox += b"\r\n"
    fob.run()
    out = fob.replies()
    assert out[0] == {
        "id": 42,
        "pending": "presence",
        "timeout": 30,
        "check": True,
        "prompt": "Add account?\nIssuer: \nName: é ✓",
    }
    assert out[1]["id"] == 42 and out[1]["ok"] is True
    assert fob.vault.accounts[-1].name == "é ✓"


def test_several_requests_in_one_read_are_answered_in_order(fob):
    data = b"".join(json.dumps({"id": i, "cmd": "time_get"}).encode() + b"\n" for i in range(10))
    data += b"\n  \r\n" + b'{"id": 99, "cmd": "nope"}\n'
    out = fob.send(data)
    assert [r["id"] for r in out] == list(range(10)) + [99]


def test_work_per_poll_is_bounded(fob):
    fob.port.inbox += b'{"id": 1, "cmd": "time_get"}\n' * 50
    fob.proto.poll()
    assert 1 <= len(fob.replies()) <= 8
    fob.run()
    assert len(fob.replies()) > 40


def test_line_of_exactly_max_length_is_accepted_and_one_longer_is_not(fob):
    base = b'{"id": 1, "cmd": "time_get", "pad": ""}'
    exact = base[:-2] + b"x" * (MAX_LINE - len(base)) + b'"}'
    assert len(exact) == MAX_LINE
    assert fob.send(exact + b"\r\n")[0]["ok"] is True
    over = base[:-2] + b"x" * (MAX_LINE + 1 - len(base)) + b'"}'
    out = fob.send(over + b"\n")
    assert len(out) == 1 and out[0]["id"] is None
    err(out[0], "line_too_long")


def test_overlong_line_is_dropped_up_to_its_newline_then_work_resumes(fob):
    fob.port.inbox += b"{" + b"a" * 10000
    for _ in range(50):
        fob.proto.poll()
    assert fob.port.out == b""
    assert len(fob.proto._buf) <= MAX_LINE + 1
    out = fob.send(b"b" * 300 + b'}\n{"id": 7, "cmd": "time_get"}\n')
    assert [r["id"] for r in out] == [None, 7]
    err(out[0], "line_too_long")
    assert out[1]["ok"] is True


def test_poll_with_nothing_waiting_does_nothing(fob):
    for _ in range(5):
        fob.proto.poll()
    assert fob.port.out == b""


def test_poll_never_raises_even_if_the_port_fails(fob):
    class BadPort(FakePort):
        @property
        def in_waiting(self):
            raise OSError(5, "usb gone")

        def write(self, data):
            raise OSError(5, "usb gone")

    fob.proto.port = BadPort()
    fob.proto.poll()
    fob.proto.port = fob.port
    assert ok(fob.call("time_get"))


def test_unexpected_failure_is_internal_and_changes_nothing(fob, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr(fob.vault, "steps", boom)
    before = fob.state()
    err(fob.call("add", name="x", secret=SECRET_B32), "internal")
    assert fob.state() == before
    assert ok(fob.call("time_get"))


# -- fuzzing -------------------------------------------------------------------------

STORED = [
    ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "SHA1"),
    ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "SHA256"),
    ("MZXW6YTBOJUWU4DBNRZGK3DBMV2GK43UMZXW6YTB", "SHA512"),
]

VALID = [
    {"id": 1, "cmd": "hello"},
    {"id": 2, "cmd": "list"},
    {"id": 3, "cmd": "code"},
    {"id": 4, "cmd": "code", "index": 1},
    {
        "id": 5,
        "cmd": "add",
        "name": "fuzz",
        "issuer": "F",
        "secret": "KRSXG5DTMVRXEZLUKRSXG5DT",
        "algorithm": "SHA256",
        "digits": 8,
        "period": 60,
    },
    {
        "id": 6,
        "cmd": "add_many",
        "accounts": [
            {"name": "m1", "secret": "NBSWY3DPNBSWY3DPNBSWY3DP"},
            {"name": "m2", "secret": "ORSXG5BAORSXG5BAORSXG5BA"},
        ],
    },
    {"id": 7, "cmd": "delete", "index": 0},
    {"id": 8, "cmd": "rename", "index": 1, "name": "renamed"},
    {"id": 9, "cmd": "move", "index": 0, "to": 2},
    {"id": 10, "cmd": "time_set", "time": T0},
    {"id": 11, "cmd": "delete", "issuer": "Example", "name": "s1"},
    {"id": 12, "cmd": "reset", "confirm": True},
    {
        "id": 13,
        "cmd": "add_many",
        "part": 0,
        "stage": True,
        "batch": TOKEN,
        "accounts": [{"name": "b1", "secret": "NBSWY3DPNBSWY3DPNBSWY3DP"}],
    },
    {
        "id": 14,
        "cmd": "add_many",
        "part": 1,
        "batch": TOKEN,
        "accounts": [{"name": "b2", "secret": "ORSXG5BAORSXG5BAORSXG5BA"}],
    },
    {"id": 15, "cmd": "abort", "batch": TOKEN},
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def frames(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    base = json.dumps(draw(st.sampled_from(VALID))).encode()
    if kind == 1:
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 6))):
            op = draw(st.integers(0, 2))
            pos = draw(st.integers(0, len(data)))
            byte = draw(st.integers(0, 255))
            if op == 0 and pos < len(data):
                data[pos] = byte
            elif op == 1:
                data.insert(pos, byte)
            elif pos < len(data):
                del data[pos]
        return bytes(data) + b"\n"
    if kind == 2:
        req = json.loads(base)
        key = draw(
            st.sampled_from(
                sorted(req)
                + [
                    "index",
                    "to",
                    "name",
                    "issuer",
                    "secret",
                    "accounts",
                    "digits",
                    "period",
                    "time",
                    "part",
                    "stage",
                ]
            )
        )
        req[key] = draw(json_values)
        return json.dumps(req).encode() + b"\n"
    return base[: draw(st.integers(0, len(base)))] + b"\n"


def _secret_forms(fob):
    forms = set()
    for a in fob.vault.accounts:
        s = bytes(a.secret)
        if len(s) >= 10:
            forms.add(base64.b32encode(s).decode().rstrip("="))
            forms.add(s.hex())
            forms.add(base64.b64encode(s).decode().rstrip("="))
    return forms


@pytest.mark.fuzz
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(frames(), min_size=1, max_size=8), st.booleans())
def test_fuzz_frames_never_crash_never_leak_and_rejections_change_nothing(frame_list, split):
    fob = Fob(
        [
            Account(
                "s%d" % i,
                "Example",
                base64.b32decode(b),
                algorithm=alg,
                digits=6 if alg == "SHA1" else 8,
            )
            for i, (b, alg) in enumerate(STORED)
        ]
    )
    for frame in frame_list:
        before = fob.state()
        secrets = _secret_forms(fob)
        if split:
            for i in range(0, len(frame), 7):
                fob.port.inbox += frame[i : i + 7]
                fob.proto.poll()
        else:
            fob.port.inbox += frame
        fob.run()
        out = [r for r in fob.replies() if "pending" not in r]
        assert len(out) <= frame.count(b"\n") + 1
        for reply in out:
            assert set(reply) >= {"id", "ok"}
            if reply["ok"] is False:
                assert reply["error"]["code"] in (
                    "bad_json",
                    "bad_request",
                    "line_too_long",
                    "unknown_command",
                    "bad_secret",
                    "bad_argument",
                    "duplicate",
                    "full",
                    "not_found",
                    "clock_not_set",
                    "no_batch",
                )
                assert fob.state() == before or len(out) > 1
            else:
                assert "error" not in reply
            body = dict(reply)
            del body["id"]
            text = json.dumps(body, ensure_ascii=False)
            for form in secrets | _secret_forms(fob):
                assert form not in text and form.lower() not in text


# -- aging offset (clock calibration) --------------------------------------------------------
# These run the real Clock and adafruit_ds3231 driver over the simulator's DS3231 model.


def _rtc_rig(drift_ppm=0.0, epoch=T0):
    import sys
    import types

    from otpfob.sim.i2c import I2C, Bus

    if "busio" not in sys.modules:
        try:
            import busio  # noqa: F401
        except ImportError:
            mod = types.ModuleType("busio")
            mod.I2C = I2C
            mod.SPI = object
            sys.modules["busio"] = mod
    from fob.clock import Clock
    from otpfob.sim.ds3231 import DS3231
    from otpfob.sim.world import World

    real = [100.0]
    world = World(
        epoch=epoch, real_clock=lambda: real[0], real_sleep=lambda s: None, wall_clock=lambda: epoch
    )
    chip = DS3231(world, drift_ppm=drift_ppm)
    chip.set_epoch(epoch)
    bus = Bus()
    bus.attach(0x68, chip)
    clock = Clock(I2C(bus), 0x68, monotonic=world.monotonic)
    f = Fob()
    f.clock = clock
    f.proto.clock = clock
    f.bus = bus
    return f, chip, world, real


def test_aging_get_and_set_read_and_write_the_ds3231_register():
    f, chip, _, _ = _rtc_rig()
    assert ok(f.call("aging_get"))["aging"] == 0
    r = ok(f.call("aging_set", aging=-37))
    assert (r["aging"], r["was"]) == (-37, 0)
    assert chip.aging == -37 and chip.registers()[0x10] == 256 - 37
    assert ok(f.call("aging_get"))["aging"] == -37
    for n in (-128, 127, 0):
        assert ok(f.call("aging_set", aging=n))["aging"] == n == chip.aging


def test_info_and_time_get_carry_the_aging_offset():
    f, chip, _, _ = _rtc_rig()
    ok(f.call("aging_set", aging=42))
    assert ok(f.call("info"))["aging"] == 42
    r = ok(f.call("time_get"))
    assert r["aging"] == 42 and r["time"] == T0 and r["valid"] is True


@pytest.mark.parametrize("value", [None, 128, -129, 1000, "5", 1.5, True])
def test_aging_set_rejects_values_outside_the_register_and_keeps_the_old_one(value):
    f, chip, _, _ = _rtc_rig()
    ok(f.call("aging_set", aging=12))
    args = {} if value is None else {"aging": value}
    msg = err(f.call("aging_set", **args), "bad_argument")
    assert "aging" in msg
    if value is not None and not isinstance(value, (str, float, bool)):
        assert "-128 to 127" in msg
    assert chip.aging == 12


def test_aging_commands_without_a_ds3231_are_io_errors(fob):
    assert "aging" in err(fob.call("aging_get"), "io")
    assert "aging" in err(fob.call("aging_set", aging=3), "io")


def test_aging_set_failing_on_the_bus_is_an_io_error():
    f, chip, _, _ = _rtc_rig()
    ok(f.call("aging_set", aging=5))
    ask = f.holder.ask

    def yes_as_the_chip_stops_answering(prompt):
        # The offset was read before the question; the write after it finds no chip.
        f.bus.set_fault(0x68, True)
        ask(prompt)

    f.holder.ask = yes_as_the_chip_stops_answering
    msg = err(f.call("aging_set", aging=7), "io")
    assert "cannot write the aging offset" in msg and "OSError" in msg
    f.bus.set_fault(0x68, False)
    assert chip.aging == 5


def test_aging_offset_trims_a_fast_chip_to_time():
    # 10 ppm fast gains 0.864 s a day; +100 steps of about 0.1 ppm slow it back.
    f, chip, world, real = _rtc_rig(drift_ppm=10.0)
    real[0] += 86400
    gained = chip.count() - (world.now() - 946684800)
    assert abs(gained - 0.864) < 0.001
    ok(f.call("aging_set", aging=100))
    start = chip.count() - (world.now() - 946684800)
    real[0] += 86400
    assert abs(chip.count() - (world.now() - 946684800) - start) < 0.001


def test_time_get_gives_the_chips_second_even_when_the_clock_has_not_reread_it():
    f, chip, world, real = _rtc_rig()
    # A long stall (a flash write, say): the clock rereads, finds the chip 0.6 s into a
    # second, and will not read again until about a second later.
    real[0] += 10.6
    assert f.clock.now() == T0 + 10
    real[0] += 0.5
    assert chip.epoch() == T0 + 11
    assert f.clock.now() == T0 + 10
    assert ok(f.call("time_get"))["time"] == T0 + 11
