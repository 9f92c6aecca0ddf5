"""The code check after an add: the fob read its clock somewhere in the request's span on
this computer's clock, and that span holds the holder's press, so a long press is no
drift. The CLI's check (otpfob.codecheck) and the page's (web/js/totp.js) on the same
cases."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from otpfob.codecheck import clock_drift, expected_codes, verify_code
from otpfob.otpauth import Account

HERE = Path(__file__).resolve().parent
KEY = b"12345678901234567890"
ACCOUNT = Account("bob", KEY, issuer="Mail")
# 2 s into a period (1,700,000,010 starts one), so a press of up to 27 s stays in it.
T0 = 1_700_000_012.0


def code_at(t):
    (code,) = expected_codes(ACCOUNT, (t,))
    return code


def reply_at(fob_time):
    return {"code": code_at(fob_time), "time": int(fob_time)}


# (before, after, reply, ok, words in the message)
CASES = [
    # A 20 s press, the fob's clock right: its reading is near `after`, far from the span's
    # middle, and no drift.
    (T0, T0 + 20, reply_at(T0 + 19.6), True, "matches"),
    # A quick add, in step.
    (T0, T0 + 0.3, reply_at(T0 + 0.1), True, "matches"),
    # The press crosses a period boundary: the fob's code is of the later period.
    (T0 + 26, T0 + 30, reply_at(T0 + 29.5), True, "matches"),
    # The fob's clock 9 s ahead after a 20 s press, its code of the next period: measured
    # from the span's end, not its middle (which would say +19 s).
    (T0, T0 + 20.3, reply_at(T0 + 29), False, "off by +9 s"),
    # 23 s behind the span's start, its code of the period before.
    (T0 + 20.2, T0 + 21, reply_at(T0 - 3), False, "off by -23 s"),
    # Another secret's code, the clock right: not a drift.
    (T0, T0 + 5, {"code": "000000", "time": int(T0 + 4)}, False, "for the same secret"),
]


def test_clock_drift_is_the_distance_outside_the_request():
    assert clock_drift(100, 90, 110) == 0.0
    assert clock_drift(111, 90, 110) == 1.5
    assert clock_drift(80, 90, 110) == -9.5


@pytest.mark.parametrize("before, after, reply, ok, words", CASES)
def test_the_cli_check(before, after, reply, ok, words):
    if reply["code"] == "000000":
        assert code_at(before) != "000000" and code_at(after) != "000000"
    got, message = verify_code(ACCOUNT, reply, before, after)
    assert got is ok and words in message, message


@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js")
def test_the_page_checks_as_the_cli_does(tmp_path):
    spec = [
        {
            "account": {
                "secret": KEY.hex(),
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
            },
            "reply": reply,
            "before": before,
            "after": after,
        }
        for before, after, reply, _ok, _words in CASES
    ]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(spec))
    proc = subprocess.run(
        ["node", str(HERE / "verify_add.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    page = json.loads(proc.stdout)
    for (ok, message), (before, after, reply, want, words) in zip(page, CASES, strict=True):
        assert ok is want and words in message, message
        # Both say the same, but for the command each names to set the clock.
        cli = verify_code(ACCOUNT, reply, before, after)[1]
        assert message.split(";")[0] == cli.split(";")[0]
