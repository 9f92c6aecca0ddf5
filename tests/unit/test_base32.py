import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fob import base32


@given(st.binary(min_size=1, max_size=80))
def test_encode_matches_stdlib_without_padding(data):
    assert base32.encode(data) == base64.b32encode(data).decode().rstrip("=")


@given(st.binary(min_size=1, max_size=80))
def test_decode_round_trips_padded_and_unpadded(data):
    padded = base64.b32encode(data).decode()
    assert base32.decode(padded) == data
    assert base32.decode(padded.rstrip("=")) == data
    assert base32.decode(base32.encode(data)) == data


@given(st.binary(min_size=1, max_size=40), st.data())
def test_decode_ignores_case_spaces_and_dashes(data, draw):
    text = base64.b32encode(data).decode().rstrip("=")
    messy = []
    for ch in text:
        if draw.draw(st.booleans()):
            ch = ch.lower()
        messy.append(ch)
        messy.append(draw.draw(st.sampled_from(["", "", " ", "-", "  "])))
    assert base32.decode("".join(messy)) == base64.b32decode(text + "=" * (-len(text) % 8))


def test_decode_known_secret():
    assert base32.decode("JBSWY3DPEHPK3PXP") == b"Hello!\xde\xad\xbe\xef"
    assert base32.decode("jbsw y3dp ehpk 3pxp") == b"Hello!\xde\xad\xbe\xef"
    assert base32.decode("JBSW-Y3DP-EHPK-3PXP") == b"Hello!\xde\xad\xbe\xef"


@pytest.mark.parametrize(
    "text, char, pos",
    [
        ("JBSWY3DP!HPK3PXP", "!", 8),
        ("JBSW Y3D1", "1", 8),
        ("ABCDEFG0", "0", 7),
        ("abc8defg", "8", 3),
    ],
)
def test_decode_names_the_bad_character_and_its_position(text, char, pos):
    with pytest.raises(ValueError) as info:
        base32.decode(text)
    msg = str(info.value)
    assert repr(char) in msg
    assert "position %d" % pos in msg


@pytest.mark.parametrize("count", [1, 3, 6, 9, 11, 14])
def test_decode_rejects_lengths_that_cannot_be_whole_bytes(count):
    with pytest.raises(ValueError, match="bad length"):
        base32.decode("A" * count)


@pytest.mark.parametrize("count", [2, 4, 5, 7, 8, 10, 16])
def test_decode_accepts_lengths_of_whole_bytes(count):
    assert base32.decode("A" * count) == bytes(count * 5 // 8)


@pytest.mark.parametrize("text", ["", "   ", "- -", "===="])
def test_decode_rejects_empty_input(text):
    with pytest.raises(ValueError, match="empty"):
        base32.decode(text)


def test_decode_rejects_wrong_padding():
    with pytest.raises(ValueError, match="padding"):
        base32.decode("MZXQ==")  # 4 data characters need 4 '='
    with pytest.raises(ValueError, match="padding"):
        base32.decode("MZXW6===" + "=")


def test_decode_rejects_data_after_padding():
    with pytest.raises(ValueError, match="after '=' padding"):
        base32.decode("MZXW6===MZXW6YQ=")


def test_error_does_not_echo_the_secret():
    secret = "JBSWY3DPEHPK3P"  # 14 characters: a bad length
    with pytest.raises(ValueError) as info:
        base32.decode(secret)
    assert secret not in str(info.value)
    assert "JBSW" not in str(info.value)


def test_decode_rejects_non_text():
    with pytest.raises(ValueError):
        base32.decode(12345)
