# Base32 (RFC 4648 alphabet) for OTP secrets.  Decoding is lenient the way people type
# secrets off a screen or a letter: any case, spaces and dashes anywhere, "=" padding
# optional.  Errors name the problem but never echo the secret itself.

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# Data characters left over after whole 8-character groups: 1, 3 and 6 cannot come from
# whole bytes.
_BAD_REMAINDERS = (1, 3, 6)
# Padding that completes a group with each valid remainder.
_PAD_FOR = {0: 0, 2: 6, 4: 4, 5: 3, 7: 1}
_IGNORED = " -\t\r\n"


def decode(text):
    """Secret bytes from base32 ``text``; ValueError says what is wrong with it."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode()
        except UnicodeError:
            raise ValueError("base32 secret is not text") from None
    if not isinstance(text, str):
        raise ValueError("base32 secret must be text")
    out = bytearray()
    acc = 0
    bits = 0
    count = 0
    pad = 0
    pos = 0
    for ch in text:
        if ch in _IGNORED:
            pos += 1
            continue
        if ch == "=":
            pad += 1
            pos += 1
            continue
        value = ALPHABET.find(ch.upper())
        if value < 0 or pad:
            if pad:
                raise ValueError("base32: data after '=' padding at position %d" % pos)
            if ch in "018":
                hint = " (base32 has no 0, 1 or 8; did you mean O, I/L or B?)"
            else:
                hint = ""
            raise ValueError("base32: invalid character %r at position %d%s" % (ch, pos, hint))
        acc = ((acc << 5) | value) & 0x1FFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
        count += 1
        pos += 1
    if count == 0:
        raise ValueError("base32: empty secret")
    rem = count % 8
    if rem in _BAD_REMAINDERS:
        raise ValueError(
            "base32: bad length, %d characters (%d left over after groups of 8 cannot "
            "encode whole bytes)" % (count, rem)
        )
    if pad and pad != _PAD_FOR[rem]:
        raise ValueError("base32: bad padding, %d '=' where %d are needed" % (pad, _PAD_FOR[rem]))
    return bytes(out)


def encode(data):
    """Unpadded upper-case base32 text of ``data``."""
    chars = []
    acc = 0
    bits = 0
    for byte in data:
        acc = ((acc << 8) | byte) & 0xFFF
        bits += 8
        while bits >= 5:
            bits -= 5
            chars.append(ALPHABET[(acc >> bits) & 31])
    if bits:
        chars.append(ALPHABET[(acc << (5 - bits)) & 31])
    return "".join(chars)
