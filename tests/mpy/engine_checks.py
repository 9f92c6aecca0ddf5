# OTP engine checks for real MicroPython interpreters (plain asserts, no pytest).
# The driver may define, before this source:
#   CASES   [(key, unix_time, digits, period, algorithm, expected_code), ...]
#   HOTP_CASES [(key, counter, expected_code), ...]
#   EXPECT_NATIVE {algorithm: True/False}  which HMACs should run on native hashlib
#   ALGS    the algorithms to check (default all); a small heap runs one group at a time
#   EXPECT_WIDE True/False  whether the pure SHA-1 should be fob.sha1_wide (32-bit words,
#           64-bit ports) rather than fob.sha1 (16-bit halves)
# Prints "ENGINE OK" at the end when every check passed.

import gc

from fob import base32, hmac, otp

CASES = globals().get("CASES", ())
HOTP_CASES = globals().get("HOTP_CASES", ())
EXPECT_NATIVE = globals().get("EXPECT_NATIVE")
ALGS = globals().get("ALGS", ("sha1", "sha256", "sha512", "steam"))
EXPECT_WIDE = globals().get("EXPECT_WIDE")
HASHES = [alg for alg in ("sha1", "sha256", "sha512") if alg in ALGS]
# Load the pure compressions while the heap is least fragmented (a 64 KB heap on the
# 64-bit unix port is tight).
gc.collect()
for alg in HASHES:
    hmac.pure_digest(alg, b"")
if EXPECT_WIDE is not None and "sha1" in HASHES:
    # The SHA-1 that was loaded, and only that one: the two never share the heap.
    import sys

    wide = "fob.sha1_wide" in sys.modules
    assert wide == EXPECT_WIDE and hmac.WIDE == EXPECT_WIDE, (wide, hmac.WIDE)
    assert ("fob.sha1" in sys.modules) != wide, sorted(sys.modules)
    assert hmac.pure_module("sha1").DIGEST_SIZE == 20
    print("sha1 words:", 32 if wide else 16)


def hexstr(data):
    return "".join("%02x" % b for b in data)


def raises(fn, word):
    try:
        fn()
    except ValueError as exc:
        assert word in str(exc), (word, str(exc))
        return
    raise AssertionError("no ValueError mentioning %r" % word)


checked = 0

# RFC 4226 Appendix D.
key = b"12345678901234567890"
codes = [] if "sha1" not in ALGS else ["755224", "287082", "359152", "969429", "338314",
         "254676", "287922", "162583", "399871", "520489"]
for counter in range(len(codes)):
    assert otp.hotp(key, counter) == codes[counter], counter
    checked += 1

# RFC 6238 Appendix B, with 8, 7 and 6 digits.
seeds = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890" * 6 + b"1234",
}
rows = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
keys = {}
for alg in HASHES:
    keys[alg] = otp.Key(seeds[alg], alg.upper())
for row in rows:
    t = row[0]
    for i, alg in enumerate(("sha1", "sha256", "sha512")):
        if alg not in HASHES:
            continue
        code = row[i + 1]
        assert otp.totp(seeds[alg], t, 8, 30, alg) == code, (alg, t)
        assert otp.totp(keys[alg], t, digits=8) == code, (alg, t)
        assert otp.totp(keys[alg], t, digits=7) == code[1:], (alg, t)
        assert otp.totp(keys[alg], t) == code[2:], (alg, t)
        checked += 4

if EXPECT_NATIVE is not None:
    for alg in HASHES:
        assert keys[alg].uses_native == EXPECT_NATIVE[alg], (alg, keys[alg].uses_native)
print("native:", [alg for alg in HASHES if keys[alg].uses_native])

# Pure hashes and HMACs (FIPS 180 "abc", RFC 2202 / RFC 4231 vectors).
ABC = {
    "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
    "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
}
LONG_KEY = b"Test Using Larger Than Block-Size Key - Hash Key First"
MACS = {
    "sha1": (b"\xaa" * 80, LONG_KEY, "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
    "sha256": (b"Jefe", b"what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    "sha512": (b"\xaa" * 131, LONG_KEY,
               "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
               "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"),
}
for alg in HASHES:
    assert hexstr(hmac.pure_digest(alg, b"abc")) == ABC[alg], alg
    mkey, msg, expected = MACS[alg]
    for native in (True, False):
        assert hexstr(hmac.HMAC(mkey, alg, native).digest(msg)) == expected, (alg, native)
    checked += 3
ABC = MACS = None

# Fixed random cases generated on the host with pyotp (and an independent Steam model).
for key, t, digits, period, alg, expected in CASES:
    if alg not in ALGS:
        continue
    assert otp.totp(key, t, digits, period, alg) == expected, (t, digits, period, alg)
    assert otp.totp(otp.Key(key, alg), t, digits, period) == expected
    checked += 2
for key, counter, expected in HOTP_CASES if "sha1" in ALGS else ():
    assert otp.hotp(key, counter) == expected, counter
    checked += 1

# Base32.
assert base32.decode("jbsw y3dp-ehpk 3pxp") == b"Hello!\xde\xad\xbe\xef"
assert base32.decode("JBSWY3DPEHPK3PXP") == b"Hello!\xde\xad\xbe\xef"
assert base32.decode("MZXW6YQ=") == b"foob"
assert base32.decode("MZXW6YQ") == b"foob"
assert base32.encode(b"foobar") == "MZXW6YTBOI"
for n in range(1, 40):
    data = bytes((i * 37 + n) & 0xFF for i in range(n))
    assert base32.decode(base32.encode(data)) == data
raises(lambda: base32.decode("JBSW!Y3DP"), "position 4")
raises(lambda: base32.decode("A"), "bad length")
raises(lambda: base32.decode("ABC"), "bad length")
raises(lambda: base32.decode(""), "empty")
raises(lambda: base32.decode("MZXQ=="), "padding")

# Bad arguments (with a hash this run has loaded anyway).
A = HASHES[0] if HASHES else "sha1"
raises(lambda: otp.totp(b"k", 0, digits=5, algorithm=A), "digits")
raises(lambda: otp.totp(b"k", 0, digits=9, algorithm=A), "digits")
raises(lambda: otp.totp(b"k", 0, algorithm="md5"), "algorithm")
raises(lambda: otp.totp(b"", 0, algorithm=A), "key")
raises(lambda: otp.totp(b"k", -1, algorithm=A), "time")
raises(lambda: otp.totp(b"k", 0, period=0, algorithm=A), "period")
raises(lambda: otp.hotp(b"k", -1, algorithm=A), "counter")
raises(lambda: otp.hotp(b"k", 2 ** 64, algorithm=A), "counter")

print("checked", checked)
print("ENGINE OK")
