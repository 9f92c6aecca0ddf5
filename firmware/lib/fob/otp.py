# HOTP (RFC 4226) and TOTP (RFC 6238) codes, plus Steam Guard's five-character codes.
#
# On a 32-bit CircuitPython / MicroPython build an int at or above 2**30 is a heap big
# int.  The counter packing, the dynamic truncation and the reduction to digits below
# work on 16-bit pieces so a code costs no big-int arithmetic (only unix_time // period
# touches one, because the epoch itself is already past 2**30).

from fob import hmac as _hmac

STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
ALGORITHMS = ("sha1", "sha256", "sha512", "steam")

_FORMATS = ("%06d", "%07d", "%08d")
# 10 ** (digits - 4) for 6, 7 and 8 digits; see _decimal().
_TOP = (100, 1000, 10000)


def _algorithm(name):
    if not isinstance(name, str):
        raise ValueError("algorithm must be a name such as 'sha1'")
    low = name.lower()
    if low not in ALGORITHMS:
        raise ValueError(
            "unknown algorithm %r (use SHA1, SHA256, SHA512 or STEAM)" % (name,)
        )
    return low


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Key:
    """A secret with its HMAC states computed once, for a code every period."""

    def __init__(self, secret, algorithm="sha1"):
        if not isinstance(secret, (bytes, bytearray)):
            raise ValueError("key must be bytes")
        if not secret:
            raise ValueError("key must not be empty")
        self.algorithm = alg = _algorithm(algorithm)
        self._mac = _hmac.HMAC(secret, "sha1" if alg == "steam" else alg)

    @property
    def uses_native(self):
        """True when the board's hashlib computes this key's HMAC."""
        return self._mac.uses_native

    def __repr__(self):
        # Never shows the secret.
        return "<Key %s>" % self.algorithm

    def code(self, counter, digits=6):
        """The code for ``counter`` (checked by the callers)."""
        mac = self._mac.digest_counter(counter)
        # Dynamic truncation (RFC 4226 5.3), kept as two 16-bit halves: the 31-bit value
        # itself can pass 2**30.
        off = mac[len(mac) - 1] & 0x0F
        hi = ((mac[off] & 0x7F) << 8) | mac[off + 1]
        lo = (mac[off + 2] << 8) | mac[off + 3]
        if self.algorithm == "steam":
            return _steam(hi, lo)
        return _FORMATS[digits - 6] % _decimal(hi, lo, digits)


def _decimal(hi, lo, digits):
    # (hi * 65536 + lo) % 10**digits without forming the 31-bit value: with
    # 65536 = 6 * 10**4 + 5536 the value is a * 10**4 + b, and 10**4 divides 10**digits.
    b = hi * 5536 + lo
    a = hi * 6 + b // 10000
    return (a % _TOP[digits - 6]) * 10000 + b % 10000


def _steam(hi, lo):
    # First division by 26 by halves (long division); the quotient is below 2**27.
    r = hi % 26
    t = r * 65536 + lo
    value = (hi // 26) * 65536 + t // 26
    chars = [STEAM_ALPHABET[t % 26]]
    for _ in range(4):
        chars.append(STEAM_ALPHABET[value % 26])
        value //= 26
    return "".join(chars)


def _key(key, algorithm):
    if isinstance(key, Key):
        if algorithm is not None and _algorithm(algorithm) != key.algorithm:
            raise ValueError(
                "algorithm %r does not match the key's %s" % (algorithm, key.algorithm)
            )
        return key
    return Key(key, "sha1" if algorithm is None else algorithm)


def _digits(digits, key):
    if key.algorithm == "steam":
        return 5
    if not _is_int(digits) or digits < 6 or digits > 8:
        raise ValueError("digits must be 6, 7 or 8, not %r" % (digits,))
    return digits


def hotp(key, counter, digits=6, algorithm=None):
    """HOTP code for ``counter`` as a string; ``key`` is bytes or a Key.

    ``algorithm`` is sha1 (default), sha256, sha512 or steam, any case; a Key carries its
    own.  Steam codes are five characters and ignore ``digits``."""
    key = _key(key, algorithm)
    digits = _digits(digits, key)
    if not _is_int(counter):
        raise ValueError("counter must be an integer")
    if counter < 0:
        raise ValueError("counter must not be negative")
    return key.code(counter, digits)


def totp(key, unix_time, digits=6, period=30, algorithm=None):
    """TOTP code at ``unix_time`` (whole seconds since 1970, UTC) as a string."""
    key = _key(key, algorithm)
    digits = _digits(digits, key)
    if not _is_int(unix_time):
        raise ValueError("time must be whole seconds (an integer)")
    if unix_time < 0:
        raise ValueError("time must not be negative")
    if not _is_int(period) or period <= 0:
        raise ValueError("period must be a positive number of seconds, not %r" % (period,))
    return key.code(unix_time // period, digits)


def seconds_left(unix_time, period=30):
    """Seconds until the code at ``unix_time`` changes."""
    return period - unix_time % period
