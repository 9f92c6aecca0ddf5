import json

import pytest

from otpfob.client import MAX_LINE, FobClient, FobError, account_fields, encode, split_batches
from otpfob.otpauth import Account, decode_secret


class FakeTransport:
    """Records requests; answers each with what `respond(request)` returns (lines)."""

    def __init__(self, respond):
        self.respond = respond
        self.sent = []
        self.pending = []
        self.closed = False

    def write_line(self, data):
        assert b"\n" not in data
        request = json.loads(data)
        self.sent.append(request)
        self.pending.extend(self.respond(request))

    def read_line(self, timeout):
        if not self.pending:
            return None
        line = self.pending.pop(0)
        return line if isinstance(line, bytes) else json.dumps(line).encode()

    def close(self):
        self.closed = True


def ok(request, **fields):
    reply = {"id": request["id"], "ok": True}
    reply.update(fields)
    return reply


def test_request_carries_id_and_cmd_and_returns_reply():
    t = FakeTransport(lambda r: [ok(r, protocol=1)])
    c = FobClient(t)
    assert c.hello()["protocol"] == 1
    assert t.sent[0]["cmd"] == "hello" and isinstance(t.sent[0]["id"], int)
    assert c.round_trips == 1


def test_ids_differ_between_requests():
    t = FakeTransport(lambda r: [ok(r)])
    c = FobClient(t)
    c.list()
    c.list()
    assert t.sent[0]["id"] != t.sent[1]["id"]


def test_stray_lines_and_other_ids_are_skipped():
    def respond(r):
        return [
            b"Auto-reload is off.",
            b"",
            b"{not json",
            b"[1, 2]",
            {"id": r["id"] - 1, "ok": True, "stale": True},
            {"id": None, "ok": False, "error": {"code": "bad_json", "message": "x"}},
            ok(r, accounts=[]),
        ]

    assert FobClient(FakeTransport(respond)).list() == {
        "id": pytest.approx(0, abs=1 << 30),
        "ok": True,
        "accounts": [],
    }


def test_error_reply_raises_fob_error_with_code_and_message():
    def respond(r):
        return [
            {"id": r["id"], "ok": False, "error": {"code": "duplicate", "message": "already there"}}
        ]

    with pytest.raises(FobError) as e:
        FobClient(FakeTransport(respond)).delete(0)
    assert (e.value.code, e.value.message) == ("duplicate", "already there")


def test_malformed_error_reply_still_raises():
    with pytest.raises(FobError) as e:
        FobClient(FakeTransport(lambda r: [{"id": r["id"], "ok": False}])).info()
    assert e.value.code == "error" and "info" in e.value.message


def test_no_reply_is_a_timeout_error():
    with pytest.raises(FobError) as e:
        FobClient(FakeTransport(lambda r: []), timeout=0.05).info()
    assert e.value.code == "timeout"


def test_add_sends_base32_secret_and_all_fields():
    t = FakeTransport(lambda r: [ok(r, index=0, replaced=False)])
    a = Account("alice", b"0123456789", issuer="Ex", algorithm="SHA256", digits=8, period=60)
    FobClient(t).add(a, overwrite=True)
    sent = t.sent[0]
    assert sent["cmd"] == "add"
    assert decode_secret(sent["secret"]) == b"0123456789"
    assert (
        sent["name"],
        sent["issuer"],
        sent["algorithm"],
        sent["digits"],
        sent["period"],
        sent["overwrite"],
    ) == ("alice", "Ex", "SHA256", 8, 60, True)


def test_commands_send_protocol_arguments():
    t = FakeTransport(lambda r: [ok(r)])
    c = FobClient(t)
    c.time_set(1800000000.7)
    c.delete(issuer="Ex", name="alice")
    c.delete(3)
    c.rename(2, "bob")
    c.rename(2, "bob", issuer="New")
    c.move(1, 0)
    c.code()
    c.code(4)
    c.reset()
    strip = [{k: v for k, v in s.items() if k != "id"} for s in t.sent]
    assert strip == [
        {"cmd": "time_set", "time": 1800000000},
        {"cmd": "delete", "issuer": "Ex", "name": "alice"},
        {"cmd": "delete", "index": 3},
        {"cmd": "rename", "index": 2, "name": "bob"},
        {"cmd": "rename", "index": 2, "name": "bob", "issuer": "New"},
        {"cmd": "move", "index": 1, "to": 0},
        {"cmd": "code", "all": True},
        {"cmd": "code", "index": 4},
        {"cmd": "reset", "confirm": True},
    ]


def _many(n, name_len=20):
    return [
        Account(("u%d-" % i).ljust(name_len, "x"), bytes(range(20)), issuer="Issuer%d" % i)
        for i in range(n)
    ]


def test_batches_fit_the_line_limit_and_keep_order():
    accounts = _many(200)
    batches = split_batches(accounts)
    assert [a for b in batches for a in b] == accounts
    for b in batches:
        line = encode(
            {
                "id": 1 << 64,
                "cmd": "add_many",
                "overwrite": False,
                "part": 9999,
                "stage": False,
                "accounts": [account_fields(a) for a in b],
            }
        )
        assert len(line) <= MAX_LINE
    # Full batches: no batch could take the first account of the next one.
    assert len(batches) < 30


def test_add_staged_numbers_the_parts_and_stages_all_but_the_last():
    accounts = _many(60)

    def respond(r):
        if r["stage"]:
            return [ok(r, staged=0, part=r["part"], warnings=["accounts[%d]: weak" % r["part"]])]
        return [ok(r, added=60, replaced=0, indexes=list(range(60)))]

    t = FakeTransport(respond)
    parts, reply = FobClient(t).add_staged(accounts)
    assert parts == len(t.sent) > 1
    assert [s["part"] for s in t.sent] == list(range(parts))
    assert [s["stage"] for s in t.sent] == [True] * (parts - 1) + [False]
    assert [a["name"] for s in t.sent for a in s["accounts"]] == [a.name for a in accounts]
    assert reply["added"] == 60
    assert reply["warnings"] == ["accounts[%d]: weak" % n for n in range(parts - 1)]


def test_add_staged_failure_sends_abort_and_raises():
    calls = []

    def respond(r):
        calls.append(r["cmd"])
        if r["cmd"] == "abort":
            return [ok(r, dropped=0)]
        if r["part"] == 2:
            return [
                {
                    "id": r["id"],
                    "ok": False,
                    "error": {"code": "full", "message": "accounts[40]: full"},
                }
            ]
        return [ok(r, staged=1, part=r["part"])]

    with pytest.raises(FobError) as e:
        FobClient(FakeTransport(respond)).add_staged(_many(60))
    assert e.value.code == "full"
    assert calls == ["add_many", "add_many", "add_many", "abort"]


def test_add_staged_timeout_still_tries_abort():
    t = FakeTransport(lambda r: [])
    with pytest.raises(FobError) as e:
        FobClient(t, timeout=0.05).add_staged(_many(3))
    assert e.value.code == "timeout"
    assert [s["cmd"] for s in t.sent] == ["add_many", "abort"]


def test_small_import_is_a_single_request():
    t = FakeTransport(lambda r: [ok(r, added=len(r["accounts"]), replaced=0)])
    parts, reply = FobClient(t).add_staged(_many(5))
    assert parts == 1 and len(t.sent) == 1 and len(t.sent[0]["accounts"]) == 5
    assert (t.sent[0]["part"], t.sent[0]["stage"]) == (0, False)
    assert reply["added"] == 5 and reply["warnings"] == []


def test_close_closes_transport():
    t = FakeTransport(lambda r: [])
    with FobClient(t):
        pass
    assert t.closed


def test_aging_commands_send_the_offset_as_an_integer():
    t = FakeTransport(lambda r: [ok(r, aging=r.get("aging", 4), was=4)])
    c = FobClient(t)
    assert c.aging_get()["aging"] == 4
    assert c.aging_set(-12.0)["aging"] == -12
    assert [(r["cmd"], r.get("aging")) for r in t.sent] == [("aging_get", None), ("aging_set", -12)]
    assert isinstance(t.sent[1]["aging"], int)


def test_interruption_says_what_was_in_flight_and_what_changed_before():
    asked = []

    def respond(request):
        if request["cmd"] == "add":
            return [ok(request, index=0)]
        if request["cmd"] == "delete":
            return [{"id": request["id"], "pending": "presence", "prompt": "Delete #1?"}]
        return [ok(request, accounts=[])]

    client = FobClient(FakeTransport(respond), timeout=0.05)
    assert "no request was in flight" in client.interruption()
    assert "nothing was changed on the fob before it" in client.interruption()
    client.add(Account("alice", decode_secret("JBSWY3DPEHPK3PXP")))
    client.add(Account("bob", decode_secret("JBSWY3DPEHPK3PXP")))
    client.list()  # a read is no change
    assert client.changed == ["add", "add"]

    def interrupt(prompt, check):
        asked.append(prompt)
        raise KeyboardInterrupt

    client.on_prompt = interrupt
    with pytest.raises(KeyboardInterrupt):
        client.delete(0)
    said = client.interruption()
    assert asked and "question about the delete ends when the port closes" in said
    assert "changed before it: add ×2" in said


def test_interruption_of_a_request_not_yet_asked_about_says_it_may_have_been_made():
    def respond(request):
        raise KeyboardInterrupt  # as if Ctrl-C came while the line went out

    client = FobClient(FakeTransport(respond))
    with pytest.raises(KeyboardInterrupt):
        client.rename(0, "x")
    assert "may have made the rename" in client.interruption()
    client = FobClient(FakeTransport(respond))
    with pytest.raises(KeyboardInterrupt):
        client.request("add_many", accounts=[], part=0, stage=True, batch="00" * 8)
    assert "staged parts are dropped" in client.interruption()
