import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otpfob.otpauth import (
    Account,
    OtpauthError,
    build_uri,
    decode_secret,
    encode_secret,
    normalize_algorithm,
    parse_lines,
    parse_steam,
    parse_uri,
)

SECRET = "JBSWY3DPEHPK3PXP"
KEY = base64.b32decode(SECRET)


def test_full_uri_gives_every_field():
    a = parse_uri(
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"
    )
    assert (a.issuer, a.name, a.algorithm, a.digits, a.period) == (
        "ACME Co",
        "john.doe@email.com",
        "SHA256",
        8,
        60,
    )
    assert a.secret == base64.b32decode("HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ")
    assert a.warnings == []


def test_defaults_are_sha1_six_digits_thirty_seconds():
    a = parse_uri("otpauth://totp/alice?secret=" + SECRET)
    assert (a.issuer, a.name, a.algorithm, a.digits, a.period) == ("", "alice", "SHA1", 6, 30)


def test_issuer_from_label_prefix_when_no_parameter():
    a = parse_uri("otpauth://totp/Example:alice@example.com?secret=" + SECRET)
    assert (a.issuer, a.name) == ("Example", "alice@example.com")


def test_encoded_colon_separates_issuer_and_name():
    a = parse_uri("otpauth://totp/Example%3Aalice%20smith?secret=" + SECRET)
    assert (a.issuer, a.name) == ("Example", "alice smith")


def test_space_after_colon_is_trimmed():
    a = parse_uri("otpauth://totp/Example:%20alice?secret=" + SECRET)
    assert a.name == "alice"


def test_issuer_parameter_wins_over_prefix_with_a_warning():
    a = parse_uri("otpauth://totp/Old:alice?secret=%s&issuer=New" % SECRET)
    assert a.issuer == "New"
    assert len(a.warnings) == 1 and "'New'" in a.warnings[0] and "'Old'" in a.warnings[0]


def test_matching_issuer_parameter_gives_no_warning():
    a = parse_uri("otpauth://totp/Same:alice?secret=%s&issuer=Same" % SECRET)
    assert a.warnings == []


def test_secret_case_padding_and_spaces_are_tolerated():
    for s in (
        "jbswy3dpehpk3pxp",
        "JBSW Y3DP EHPK 3PXP",
        "JBSWY3DPEHPK3PXP====",
        "jbsw-y3dp-ehpk-3pxp",
    ):
        assert decode_secret(s) == KEY


def test_uri_secret_in_lower_case_with_padding():
    a = parse_uri("otpauth://totp/a?secret=gezdgnbvgy3tqojq%3D%3D%3D")
    assert a.secret == b"1234567890"


def test_bad_base32_names_the_character_and_position():
    with pytest.raises(OtpauthError) as e:
        decode_secret("JBSWY1DP")
    assert "'1'" in str(e.value) and "position 6" in str(e.value) and "I or L" in str(e.value)


def test_bad_base32_error_does_not_echo_the_secret():
    with pytest.raises(OtpauthError) as e:
        parse_uri("otpauth://totp/a?secret=GEZDGNBVGY3TQOJ!")
    assert "GEZDGNBV" not in str(e.value)
    assert "'!'" in str(e.value)


def test_impossible_base32_length_is_refused():
    with pytest.raises(OtpauthError, match="9 characters"):
        decode_secret("JBSWY3DPE")


def test_padding_in_the_middle_is_refused():
    with pytest.raises(OtpauthError, match="padding"):
        decode_secret("JBSW=Y3DP")


def test_hotp_uri_keeps_type_and_counter():
    a = parse_uri("otpauth://hotp/Bank:a?secret=%s&counter=41&digits=8&algorithm=SHA256" % SECRET)
    assert (a.kind, a.counter, a.digits, a.algorithm, a.label) == (
        "hotp",
        41,
        8,
        "SHA256",
        "Bank:a",
    )
    assert parse_uri(build_uri(a)) == a


@pytest.mark.parametrize(
    "uri, words",
    [
        ("otpauth://hotp/a?secret=%s" % SECRET, "needs a counter"),
        ("otpauth://hotp/a?secret=%s&counter=-1" % SECRET, "counter must be between"),
        ("otpauth://hotp/a?secret=%s&counter=4294967296" % SECRET, "counter must be between"),
        ("otpauth://hotp/a?secret=%s&counter=1&encoder=steam" % SECRET, "time-based"),
    ],
)
def test_bad_hotp_uris_say_what_is_wrong(uri, words):
    with pytest.raises(OtpauthError, match=words):
        parse_uri(uri)


@pytest.mark.parametrize(
    "uri, words",
    [
        ("http://totp/a?secret=" + SECRET, "otpauth://"),
        ("otpauth://xotp/a?secret=" + SECRET, "totp"),
        ("otpauth://totp/a", "no secret"),
        ("otpauth://totp/a?secret=", "empty"),
        ("otpauth://totp/?secret=" + SECRET, "account name"),
        ("otpauth://totp/Issuer:?secret=" + SECRET, "empty account name"),
        ("otpauth://totp/a?secret=%s&digits=5" % SECRET, "digits must be 6, 7 or 8"),
        ("otpauth://totp/a?secret=%s&digits=six" % SECRET, "digits must be a whole number"),
        ("otpauth://totp/a?secret=%s&period=0" % SECRET, "period"),
        ("otpauth://totp/a?secret=%s&period=100000" % SECRET, "period"),
        ("otpauth://totp/a?secret=%s&algorithm=MD5" % SECRET, "algorithm"),
        ("otpauth://totp/a?secret=%s&secret=AAAAAAAA" % SECRET, "twice"),
        ("otpauth://totp/a?secret=AE", "2 to 128 bytes"),
        ("otpauth-migration://offline?data=AAAA", "otpfob import"),
    ],
)
def test_bad_uris_say_what_is_wrong(uri, words):
    with pytest.raises(OtpauthError) as e:
        parse_uri(uri)
    assert words in str(e.value)


def test_algorithm_names_any_case():
    assert normalize_algorithm("sha512") == "SHA512"
    assert normalize_algorithm("Sha-256") == "SHA256"
    assert normalize_algorithm("steam") == "STEAM"
    a = parse_uri("otpauth://totp/a?secret=%s&algorithm=sha512" % SECRET)
    assert a.algorithm == "SHA512"


def test_steam_encoder_maps_to_steam_with_five_characters():
    a = parse_uri("otpauth://totp/Steam:gabe?secret=%s&issuer=Steam&encoder=steam" % SECRET)
    assert (a.issuer, a.name, a.algorithm, a.digits) == ("Steam", "gabe", "STEAM", 5)


def test_steam_type_uri_maps_to_steam():
    a = parse_uri("otpauth://steam/Steam:gabe?secret=%s" % SECRET)
    assert a.algorithm == "STEAM" and a.digits == 5


def test_steam_issuer_without_hint_is_read_as_steam_with_a_notice():
    # Steam Desktop Authenticator's own URI form.
    a = parse_uri("otpauth://totp/Steam:gabe?secret=%s&issuer=Steam" % SECRET)
    assert (a.algorithm, a.digits) == ("STEAM", 5)
    assert any("encoder=steam" in w and "--as-totp" in w for w in a.warnings)


def test_as_totp_keeps_a_steam_issuer_plain():
    a = parse_uri("otpauth://totp/Steam:gabe?secret=%s" % SECRET, as_totp=True)
    assert (a.algorithm, a.digits, a.warnings) == ("SHA1", 6, [])


def test_steam_issuer_with_other_settings_is_not_taken_for_steam():
    a = parse_uri("otpauth://totp/Steam:gabe?secret=%s&algorithm=SHA256" % SECRET)
    assert a.algorithm == "SHA256"


def test_short_secret_is_accepted_with_a_warning():
    a = parse_uri("otpauth://totp/a?secret=GEZDGNBV")  # 5 bytes
    assert any("40 bits" in w for w in a.warnings)


def test_label_longer_than_64_bytes_is_refused():
    with pytest.raises(OtpauthError, match="64 bytes"):
        parse_uri("otpauth://totp/" + "\u00e9" * 33 + "?secret=" + SECRET)


def test_repr_never_contains_the_secret():
    a = Account("alice", b"\x01\x02secret-bytes", issuer="Ex")
    assert "secret-bytes" not in repr(a) and encode_secret(a.secret) not in repr(a)


def test_build_then_parse_round_trip_with_awkward_labels():
    a = Account(
        "alice smith+tag@example.com",
        KEY,
        issuer="ACME & Sons: West",
        algorithm="SHA512",
        digits=8,
        period=45,
    )
    b = parse_uri(build_uri(a))
    assert b == a


def test_build_steam_uri_round_trip():
    a = Account("gabe", KEY, issuer="Steam", algorithm="STEAM", digits=5)
    assert "encoder=steam" in build_uri(a)
    assert parse_uri(build_uri(a)) == a


def test_parse_lines_skips_blanks_and_comments_and_names_bad_line():
    text = "# exported\n\notpauth://totp/A:a?secret=%s\n  otpauth://totp/B:b?secret=%s\n" % (
        SECRET,
        SECRET,
    )
    assert [a.label for a in parse_lines(text)] == ["A:a", "B:b"]
    with pytest.raises(OtpauthError, match="line 5: .*position 1"):
        parse_lines(text + "otpauth://totp/C?secret=0000\n")


@given(st.binary(min_size=2, max_size=128))
def test_base32_encode_decode_round_trip(data):
    text = encode_secret(data)
    assert decode_secret(text) == data
    assert decode_secret(text.lower()) == data
    assert encode_secret(data, padding=True) == base64.b32encode(data).decode()


@given(st.text(min_size=1, max_size=40))
def test_decode_secret_either_decodes_or_raises_otpauth_error(text):
    try:
        decode_secret(text)
    except OtpauthError:
        pass


# -- steam:// secrets (as Bitwarden and other password managers keep Steam Guard's) ------


@pytest.mark.parametrize(
    "text",
    [
        "steam://" + SECRET,
        "  STEAM://" + SECRET.lower() + "/ ",
        "steam://" + " ".join((SECRET[:8], SECRET[8:])),
    ],
)
def test_steam_secret_is_a_steam_guard_account(text):
    a = parse_uri(text)
    assert (a.issuer, a.name, a.algorithm, a.digits, a.period) == (
        "Steam",
        "Steam Guard",
        "STEAM",
        5,
        30,
    )
    assert a.secret == KEY


def test_steam_secret_takes_a_label_from_the_caller():
    a = parse_steam("steam://" + SECRET, name="gabe", issuer="Valve")
    assert (a.issuer, a.name, a.algorithm) == ("Valve", "gabe", "STEAM")
    assert parse_steam("steam://" + SECRET, name="gabe").issuer == "Steam"


def test_steam_lines_mix_with_otpauth_lines():
    text = "# mine\nsteam://%s\notpauth://totp/A:a?secret=%s\n" % (SECRET, SECRET)
    accounts = parse_lines(text)
    assert [(a.label, a.algorithm) for a in accounts] == [
        ("Steam:Steam Guard", "STEAM"),
        ("A:a", "SHA1"),
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ("steam://", "empty"),
        ("steam://" + SECRET[:-1] + "1", "character '1' at position 16"),
        ("steam://%s?issuer=x" % SECRET, "no path or parameters"),
        ("steam://%s/extra" % SECRET, "no path or parameters"),
    ],
)
def test_bad_steam_secrets_say_why_without_the_secret(text, words):
    with pytest.raises(OtpauthError, match=words) as e:
        parse_uri(text)
    assert SECRET[:6] not in str(e.value) and SECRET[4:10] not in str(e.value)


@pytest.mark.parametrize(
    "text",
    [SECRET, SECRET + ":" + SECRET, "otpauth://%s?x=1" % SECRET, "otpauth://totp&secret=" + SECRET],
)
def test_text_that_is_no_uri_is_refused_without_quoting_it(text):
    # A bare secret pasted where a URI goes, or a URI broken before its '/'.
    with pytest.raises(OtpauthError) as e:
        parse_uri(text)
    assert SECRET[:6] not in str(e.value).upper()
