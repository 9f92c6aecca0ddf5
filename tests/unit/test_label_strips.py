"""Label strips on the fob (fob/labels.py, fob/label_store.py, their hooks in
fob/provision.py): what the protocol takes, where it keeps them, that a strip an account
uses is never written over, that strips no account uses go, and that a missing or damaged
strip leaves the label to the small font. The firmware runs in-process over fob_fakes;
the strips here are made up (the host's rendering is tests/unit/test_label_render.py)."""

import base64

import pytest
from fob_fakes import Flash, Fob

from fob import label_store, labels
from fob.vault import Account

B32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOKEN = "cd" * 16


def strip(width, seed=1):
    """A made-up strip: something on both pages of every column, never a full column."""
    top = bytes(((seed * 37 + c * 11) & 0x7F) | 1 for c in range(width))
    bottom = bytes(((seed * 53 + c * 7) & 0xFF) | 0x10 for c in range(width))
    return top + bottom


def piece(text, data, at=None, size=None):
    out = {"text": text, "data": base64.b64encode(data).decode()}
    if at is not None:
        out.update(at=at, size=size)
    return out


def stored(fob, text):
    s = labels.load(fob.vault, text)
    return None if s is None else bytes(s)


def strip_files(fob):
    return sorted(k for k in fob.flash.files if k.startswith("/labels/"))


@pytest.fixture(autouse=True)
def fresh_module_state():
    label_store.written = 0
    label_store.batch = None
    labels.held = None
    yield
    labels.held = None


def test_an_add_stores_its_strips_only_at_the_yes():
    no = Fob(reply=False)
    r = no.call(
        "add",
        issuer="Банк",
        name="Олена",
        secret=B32,
        strips=[piece("Банк", strip(30)), piece("Олена", strip(40, 2))],
    )
    assert r["error"]["code"] == "refused"
    assert strip_files(no) == []
    fob = Fob()
    r = fob.call(
        "add",
        issuer="Банк",
        name="Олена",
        secret=B32,
        strips=[piece("Банк", strip(30)), piece("Олена", strip(40, 2))],
    )
    assert r["ok"], r
    assert stored(fob, "Банк") == strip(30) and stored(fob, "Олена") == strip(40, 2)
    assert len(strip_files(fob)) == 2


def test_the_question_of_an_add_draws_the_strips_it_came_with():
    fob = Fob()
    fob.holder.reply = None  # the question stays
    fob.proto.port.inbox += (
        b'{"id": 1, "cmd": "add", "issuer": "Bank", "name": "\\u0430lice", '
        b'"secret": "'
        + B32.encode()
        + b'", "strips": ['
        + (b'{"text": "\\u0430lice", "data": "%s"}' % base64.b64encode(strip(33)))
        + b"]}\n"
    )
    for _ in range(5):
        fob.proto.poll()
    prompt = fob.holder.prompts[-1]
    assert "Name: \u0430lice" in prompt
    held_prompt, held = labels.held
    assert held_prompt is prompt and bytes(held["\u0430lice"]) == strip(33)
    assert strip_files(fob) == []  # nothing on flash before the yes


def test_strips_are_checked_and_a_bad_one_changes_nothing():
    fob = Fob()

    def add(strips, name="Олена"):
        return fob.call("add", name=name, secret=B32, strips=strips)

    assert "plain ASCII" in add([piece("alice", strip(4))], "alice")["error"]["message"]
    assert add([piece("Олена", strip(4)[:-1])])["error"]["code"] == "bad_argument"
    assert add([{"text": "Олена", "data": "not base64!"}])["error"]["code"] == "bad_argument"
    assert "not a field" in add([piece("Банк", strip(4))])["error"]["message"]
    dark_top = bytes(10) + bytes([0xFF] * 10)
    r = add([piece("Олена", dark_top)])
    assert r["error"]["code"] == "bad_argument" and "Олена" in r["error"]["message"]
    assert add([piece("Олена", strip(700))])["error"]["code"] == "bad_argument"
    assert len(fob.vault.accounts) == 0 and strip_files(fob) == []


def test_a_column_lit_top_to_bottom_loses_its_top_pixel_so_only_the_bar_is():
    full = bytes([0xFF, 0x01]) + bytes([0xFF, 0x80])
    fob = Fob()
    assert fob.call("add", name="Олена", secret=B32, strips=[piece("Олена", full)])["ok"]
    assert stored(fob, "Олена") == bytes([0xFE, 0x01, 0xFF, 0x80])


def test_a_stored_strip_an_account_uses_is_not_written_over():
    fob = Fob()
    assert fob.call(
        "add", issuer="Банк", name="a", secret=B32, strips=[piece("Банк", strip(20, 1))]
    )["ok"]
    assert fob.call(
        "add", issuer="Банк", name="b", secret=B32, strips=[piece("Банк", strip(20, 9))]
    )["ok"]
    assert stored(fob, "Банк") == strip(20, 1)
    # ... and the second add's question showed the stored one, the one the fob draws.
    assert labels.held is None


def test_delete_and_rename_remove_the_strips_no_account_has_any_more():
    fob = Fob()
    for name in ("a", "b"):
        assert fob.call(
            "add", issuer="Банк", name=name, secret=B32, strips=[piece("Банк", strip(20))]
        )["ok"]
    assert fob.call("delete", index=0)["ok"]
    assert stored(fob, "Банк") is not None  # "b" has it still
    assert fob.call(
        "rename", index=0, issuer="Bank", name="Олена", strips=[piece("Олена", strip(12, 3))]
    )["ok"]
    assert stored(fob, "Банк") is None and stored(fob, "Олена") == strip(12, 3)
    assert fob.call("delete", index=0)["ok"]
    assert strip_files(fob) == []


def test_an_import_sends_a_long_strip_in_pieces_over_its_parts():
    fob = Fob()
    long = strip(600, 4)
    r0 = fob.call(
        "add_many",
        part=0,
        batch=TOKEN,
        stage=True,
        accounts=[],
        strips=[piece("東京タワー", long[:500], 0, len(long))],
    )
    assert r0["ok"], r0
    r1 = fob.call(
        "add_many",
        part=1,
        batch=TOKEN,
        stage=False,
        accounts=[{"issuer": "東京タワー", "name": "taro", "secret": B32}],
        strips=[piece("東京タワー", long[500:], 500, len(long))],
    )
    assert r1["ok"] and r1["added"] == 1, r1
    assert stored(fob, "東京タワー") == long
    assert label_store.written == 0  # the yes


def test_a_piece_out_of_order_drops_the_batch_and_its_strips():
    fob = Fob()
    long = strip(300)
    assert fob.call(
        "add_many",
        part=0,
        batch=TOKEN,
        stage=True,
        accounts=[],
        strips=[piece("Банк", long[:100], 0, 600)],
    )["ok"]
    r = fob.call(
        "add_many",
        part=1,
        batch=TOKEN,
        stage=True,
        accounts=[],
        strips=[piece("Банк", long[200:300], 200, 600)],
    )
    assert r["error"]["code"] == "bad_argument" and "does not follow" in r["error"]["message"]
    # The next request finds the batch gone and removes what it wrote.
    assert fob.call("abort", batch=TOKEN)["dropped"] == 0
    assert strip_files(fob) == []


def test_an_aborted_import_leaves_no_strip_behind_but_keeps_the_ones_in_use():
    fob = Fob()
    assert fob.call("add", issuer="Банк", name="a", secret=B32, strips=[piece("Банк", strip(20))])[
        "ok"
    ]
    assert fob.call(
        "add_many",
        part=0,
        batch=TOKEN,
        stage=True,
        accounts=[
            {"issuer": "Банк", "name": "b", "secret": B32},
            {"issuer": "Почта", "name": "c", "secret": B32},
        ],
        strips=[piece("Банк", strip(20, 5)), piece("Почта", strip(8))],
    )["ok"]
    assert stored(fob, "Почта") == strip(8) and stored(fob, "Банк") == strip(20)
    assert fob.call("abort", batch=TOKEN)["dropped"] == 2
    assert stored(fob, "Почта") is None and stored(fob, "Банк") == strip(20)


def test_strips_sent_without_a_yes_are_limited_per_power_up():
    fob = Fob()
    label_store.written = label_store.UNPRESSED_MAX
    r = fob.call(
        "add_many", part=0, batch=TOKEN, stage=True, accounts=[], strips=[piece("Банк", strip(4))]
    )
    assert r["error"]["code"] == "busy"


def test_a_reset_erases_every_strip():
    fob = Fob()
    assert fob.call(
        "add",
        issuer="Банк",
        name="Олена",
        secret=B32,
        strips=[piece("Банк", strip(5)), piece("Олена", strip(6))],
    )["ok"]
    assert fob.call("reset", confirm=True)["ok"]
    assert strip_files(fob) == []


def test_a_damaged_or_foreign_strip_file_is_no_strip():
    fob = Fob()
    assert fob.call("add", name="Олена", secret=B32, strips=[piece("Олена", strip(9))])["ok"]
    (path,) = strip_files(fob)
    good = bytes(fob.flash.files[path])
    fob.flash.files[path][-6] ^= 0x40
    assert stored(fob, "Олена") is None
    fob.flash.files[path] = bytearray(good[:-3])
    assert stored(fob, "Олена") is None
    # Another text's file under this name (a CRC collision) is not this text's strip.
    other = "Олег".encode()
    forged = bytes((0x4C, 1, len(other))) + other + good[3 + len("Олена".encode()) :]
    fob.flash.files[path] = bytearray(forged)
    assert stored(fob, "Олена") is None
    fob.flash.files[path] = bytearray(good)
    assert stored(fob, "Олена") == strip(9)


class CutFlash(Flash):
    """Flash whose vault writes fail (a power cut as the vault is written)."""

    cut = False

    def open(self, path, mode):
        if self.cut and "vault" in path and "w" in mode:
            raise OSError(5, "power cut")
        return Flash.open(self, path, mode)


def test_a_cut_before_the_vault_is_written_leaves_the_vault_and_no_strip_in_use():
    flash = CutFlash()
    fob = Fob(flash=flash)
    assert fob.call("add", name="Олена", secret=B32, strips=[piece("Олена", strip(9))])["ok"]
    before = fob.vault_files()
    flash.cut = True
    r = fob.call("add", name="Мария", secret=B32, strips=[piece("Мария", strip(7, 2))])
    assert r["error"]["code"] == "io"
    assert fob.vault_files() == before
    # The new strip was written first; no account has its text, so the next strip for
    # that text goes over it, and the one the vault's account uses was never touched.
    assert stored(fob, "Олена") == strip(9)
    flash.cut = False
    again = Fob(flash=flash)
    assert [a.name for a in again.vault.accounts] == ["Олена"]
    assert again.call("add", name="Мария", secret=B32, strips=[piece("Мария", strip(7, 6))])["ok"]
    assert stored(again, "Мария") == strip(7, 6)


def test_hello_tells_hosts_the_strips_it_takes():
    limits = Fob().call("hello")["limits"]
    assert limits["strip_height"] == 16 and limits["strip_width"] == labels.WIDTH_MAX


def test_the_batch_last_part_keeps_its_strips_while_its_question_waits():
    fob = Fob()
    fob.holder.reply = None
    fob.proto.port.inbox += (
        b'{"id": 5, "cmd": "add_many", "accounts": [{"name": "\\u041e", "secret": "'
        + B32.encode()
        + b'"}, {"name": "x", "secret": "'
        + B32.encode()
        + b'"}], '
        b'"strips": [{"text": "\\u041e", "data": "' + base64.b64encode(strip(6)) + b'"}]}\n'
    )
    for _ in range(5):
        fob.proto.poll()
    assert fob.proto.question is not None
    # Another program's request meanwhile settles nothing away.
    assert fob.call("abort", batch=TOKEN)["dropped"] == 0
    assert stored(fob, "\u041e") == strip(6)
    fob.holder.answer = True
    for _ in range(5):
        fob.proto.poll()
    assert [a.name for a in fob.vault.accounts] == ["\u041e", "x"]
    assert stored(fob, "\u041e") == strip(6)


def test_an_account_object_text_keys_match_the_file_names():
    acc = Account("Олена", "Банк", b"0123456789")
    assert label_store.keys_of([acc]) == [
        label_store.key("Банк".encode()),
        label_store.key("Олена".encode()),
    ]
    assert labels.name("Банк".encode()) == "%08x" % label_store.key("Банк".encode())
