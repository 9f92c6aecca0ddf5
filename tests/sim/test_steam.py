"""Steam Guard accounts end to end: `otpfob import` and `otpfob add` of steam:// secrets,
the five characters on the simulated OLED (read back from its pixels) and through
`otpfob code`, each matched with the Steam reduction computed here from its definition."""

import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from otpfob.otpauth import decode_secret

harness = pytest.importorskip("otpfob.sim.harness")

OTPFOB = str(Path(sys.executable).with_name("otpfob"))
STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
SECRET = "KRSXG5CTORSWC3JAMZXXEIDPORYGM33C"  # b"TestSteam for otpfob"
OTHER = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"


def steam_code(b32, t, period=30):
    """Steam Guard's code: RFC 4226 dynamic truncation of HMAC-SHA1 over the TOTP
    counter, then five base-26 digits, least significant first, in Steam's alphabet."""
    mac = hmac.new(decode_secret(b32), struct.pack(">Q", int(t) // period), hashlib.sha1).digest()
    offset = mac[19] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    chars = []
    for _ in range(5):
        chars.append(STEAM_ALPHABET[value % 26])
        value //= 26
    return "".join(chars)


def otpfob(url, *args, input=None):
    env = dict(os.environ)
    env.pop("OTPFOB_PORT", None)
    return subprocess.run(
        [OTPFOB, "--port", url, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def ok(url, *args, input=None):
    r = otpfob(url, *args, input=input)
    assert r.returncode == 0, "otpfob %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def as_json(url, *args, input=None):
    return json.loads(ok(url, "--json", *args, input=input).stdout)


def big_text_on_panel(fob, tmp_path, page):
    """The big-font characters the OLED shows with their top on ``page``, from pixels."""
    from PIL import Image

    from otpfob.testing import panel

    png = fob.screen_png(tmp_path / "screen.png")
    img = Image.open(png).convert("1")
    ram = panel.ram_from_pixels(lambda x, y: img.getpixel((x, y)), img.width, img.height)
    return panel.big_text(ram, page, img.width)


@pytest.fixture
def fob(tmp_path):
    with harness.SimProcess(tmp_path / "state", autopress=True) as fob:
        fob.clock(int(time.time()))
        # The firmware notices the set clock on its next read of the chip.
        fob.wait_for(lambda st: st["screen"] == "empty", what="the clock taken as set")
        yield fob


def steady_code_screen(fob):
    """The status once the code screen shows a code that stays for a few more seconds."""
    return fob.wait_for(
        lambda st: st["screen"] == "code" and st["code"] and 4 <= (st["seconds_left"] or 0) <= 27,
        timeout=30,
        what="a steady code screen",
    )


def test_imported_steam_secret_shows_five_steam_characters_on_the_oled_and_in_code(fob, tmp_path):
    url = fob.data_url
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(
        "# a Steam Guard secret as password managers keep it\nsteam://%s\n" % SECRET
    )
    assert as_json(url, "import", str(accounts))["added"] == 1
    (entry,) = as_json(url, "list")
    assert (entry["issuer"], entry["name"], entry["algorithm"], entry["digits"]) == (
        "Steam",
        "Steam Guard",
        "STEAM",
        5,
    )

    st = steady_code_screen(fob)
    shown = st["code"]
    assert len(shown) == 5 and set(shown) <= set(STEAM_ALPHABET)
    # The fob's clock (the RTC) is read a moment before or after the status: allow a
    # second either side; the code changes only every 30 s.
    t = st["rtc_time"]
    assert shown in {steam_code(SECRET, t + d) for d in (-1, 0, 1)}
    assert big_text_on_panel(fob, tmp_path, page=2) == shown  # 128x64: the code's page

    (code,) = as_json(url, "code", "steam")
    assert code["digits"] == 5 and len(code["code"]) == 5
    assert code["code"] == steam_code(SECRET, code["time"])


def test_add_takes_steam_secrets_at_the_prompt_as_an_argument_and_as_uri(fob):
    url = fob.data_url
    # At the prompt (piped here): NAME labels it, the issuer defaults to Steam.
    ok(url, "add", "gabe", input="steam://%s\n" % SECRET)
    # As the only argument: the secret, never a label.
    ok(url, "add", "steam://%s" % OTHER)
    listed = {(a["issuer"], a["name"]): a for a in as_json(url, "list")}
    assert set(listed) == {("Steam", "gabe"), ("Steam", "Steam Guard")}
    assert all(a["algorithm"] == "STEAM" and a["digits"] == 5 for a in listed.values())
    codes = {e["name"]: e for e in as_json(url, "code")}
    assert codes["gabe"]["code"] == steam_code(SECRET, codes["gabe"]["time"])
    assert codes["Steam Guard"]["code"] == steam_code(OTHER, codes["Steam Guard"]["time"])
    # --uri with a new label replaces nothing and keeps Steam's five characters.
    ok(url, "add", "Valve:work", "--uri", "steam://%s" % OTHER)
    work = [a for a in as_json(url, "list") if a["name"] == "work"][0]
    assert (work["issuer"], work["algorithm"], work["digits"]) == ("Valve", "STEAM", 5)


@pytest.mark.parametrize(
    "args, stdin, why",
    [
        (("add", "gabe"), "steam://%s0\n" % SECRET[:-1], "not valid base32"),
        (("add", "gabe", "steam://%s?x=1" % SECRET), None, "no path or parameters"),
        (("add", "gabe", "--algorithm", "SHA1"), "steam://%s\n" % SECRET, "leave out --algorithm"),
        (("import", SECRET), None, "a bare secret"),
    ],
)
def test_bad_steam_input_is_refused_without_repeating_the_secret(args, stdin, why):
    # Refused before any fob is asked, so no simulator is needed.
    r = otpfob("socket://127.0.0.1:9", *args, input=stdin)
    assert r.returncode != 0
    text = r.stdout + r.stderr
    assert why in text
    for i in range(len(SECRET) - 5):
        assert SECRET[i : i + 6] not in text, text
