# The protocol's `selftest`: public RFC test vectors through the fob's own engine.
# A module of its own because it is rarely run: the protocol imports it when asked and
# drops it afterwards, so its tables take no heap the rest of the time.
from fob import base32, otp

# RFC 4226 appendix D: HOTP of the 20-byte key at counters 0-9.
_HOTP = ("755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
         "399871", "520489")
# RFC 6238 appendix B: time, then the 8-digit SHA1, SHA256 and SHA512 codes.
_TOTP = (
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
)
_ALGS = ("sha1", "sha256", "sha512")


def _key(n):
    # The RFC keys are "1234567890" repeated to 20, 32 and 64 bytes.
    return (b"1234567890" * 7)[:n]


def checks(result):
    """Yield one {"name", "pass"} per check; result[0] turns False on a failure."""
    for n in range(1 + len(_HOTP) + 3 * len(_TOTP)):
        want = None
        try:
            if n == 0:
                name = "rfc4648 base32"
                ok = base32.decode("MZXW6YTBOI======") == b"foobar"
                got = None
            elif n <= len(_HOTP):
                c = n - 1
                name = "rfc4226 counter %d" % c
                want = _HOTP[c]
                got = otp.hotp(_key(20), c, digits=6, algorithm="sha1")
            else:
                n -= 1 + len(_HOTP)
                row = _TOTP[n // 3]
                a = n % 3
                name = "rfc6238 %s t=%d" % (_ALGS[a], row[0])
                want = row[a + 1]
                got = otp.totp(_key((20, 32, 64)[a]), row[0], digits=8, period=30,
                               algorithm=_ALGS[a])
            if want is not None:
                ok = got == want
        except Exception as e:
            ok = False
            got = "error (%s)" % type(e).__name__
        item = {"name": name, "pass": ok}
        if not ok:
            result[0] = False
            if want is not None:
                item["expected"] = want
            if got is not None:
                item["got"] = got
        yield item
