"""A long reply (codes of many accounts) is written a few items per poll, and the protocol
says so (`streaming`), so the fob's loop runs the next pass at once instead of sleeping."""

import json
import types

from fakes import SECRET, Fob

from fob.vault import Account


def test_streaming_is_true_while_a_long_reply_is_half_written_and_false_after():
    fob = Fob([Account("user%d" % i, "Svc", SECRET) for i in range(40)])
    # The holder let computers read codes without a press (settings usb_codes).
    fob.proto.settings = types.SimpleNamespace(usb_codes=True)
    fob.port.inbox += json.dumps({"id": 1, "cmd": "code", "all": True}).encode() + b"\n"
    assert not fob.proto.streaming
    fob.proto.poll()
    polls = 1
    assert fob.proto.streaming
    while fob.proto.streaming:
        fob.proto.poll()
        polls += 1
    reply = json.loads(fob.port.take())
    assert [e["name"] for e in reply["codes"]] == ["user%d" % i for i in range(40)]
    # A few items per pass keeps the buttons answered between them on a slow engine.
    assert polls >= 10


def test_a_short_reply_never_streams():
    fob = Fob()
    fob.port.inbox += b'{"id": 1, "cmd": "info"}\n'
    fob.proto.poll()
    assert not fob.proto.streaming
    assert json.loads(fob.port.take())["ok"] is True
