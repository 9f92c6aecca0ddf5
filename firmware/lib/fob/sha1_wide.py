# Pure-Python SHA-1 compression (FIPS 180-4) over whole 32-bit words, for ports whose
# small ints hold 62 bits (sys.maxsize > 2**32: the 64-bit unix and Windows ports).
# There no intermediate here (a few 32-bit words added, or one shifted left by 30) becomes
# a heap big int; on a 32-bit port nearly every step would allocate one.  fob.hmac
# imports this module only on a 64-bit port and sha1.py (16-bit halves) everywhere else,
# never both.  The state is a list of five words; the interface is sha1.py's.
#
# All 80 rounds are written out with the roles of a..e rotated by renaming, the message
# schedule lives in a ring of 16 locals (w0..w15 hold w[t] for t = k mod 16) and the
# round constant in a local: the bytecode only reads and writes locals, with no index
# arithmetic, subscripts or loops.  Each step masks once, where its result is next
# shifted (the new a, rotl30(b), a schedule word).  Over twice as fast as sha1.py here;
# compiling this source takes about 100 KB of heap, as a .mpy it holds less heap than sha1.py.

from struct import pack_into as _pack

BLOCK_SIZE = 64
DIGEST_SIZE = 20
IV = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)

_BLOCK = bytearray(64)


def _copy(block, off):
    # Only a message past one block (not a code) is read at an offset: copied here, it is
    # read at the fixed offsets that compress() indexes with.
    buf = _BLOCK
    for i in range(64):
        buf[i] = block[off + i]
    return buf


def compress(state, block, off=0, out=None):
    """Fold the 64 bytes of ``block`` starting at ``off`` into ``state`` in place, or,
    given a bytearray ``out``, write the new state there as digest bytes and leave
    ``state`` as it was (an HMAC's precomputed key states)."""
    if off:
        block = _copy(block, off)
    # The most used names first: locals numbered below 16 load with one-byte opcodes.
    M = 0xFFFFFFFF
    k = 0
    x = 0
    a = state[0]
    b = state[1]
    c = state[2]
    d = state[3]
    e = state[4]
    w0 = (block[0] << 24) | (block[1] << 16) | (block[2] << 8) | block[3]
    w1 = (block[4] << 24) | (block[5] << 16) | (block[6] << 8) | block[7]
    w2 = (block[8] << 24) | (block[9] << 16) | (block[10] << 8) | block[11]
    w3 = (block[12] << 24) | (block[13] << 16) | (block[14] << 8) | block[15]
    w4 = (block[16] << 24) | (block[17] << 16) | (block[18] << 8) | block[19]
    w5 = (block[20] << 24) | (block[21] << 16) | (block[22] << 8) | block[23]
    w6 = (block[24] << 24) | (block[25] << 16) | (block[26] << 8) | block[27]
    w7 = (block[28] << 24) | (block[29] << 16) | (block[30] << 8) | block[31]
    w8 = (block[32] << 24) | (block[33] << 16) | (block[34] << 8) | block[35]
    w9 = (block[36] << 24) | (block[37] << 16) | (block[38] << 8) | block[39]
    w10 = (block[40] << 24) | (block[41] << 16) | (block[42] << 8) | block[43]
    w11 = (block[44] << 24) | (block[45] << 16) | (block[46] << 8) | block[47]
    w12 = (block[48] << 24) | (block[49] << 16) | (block[50] << 8) | block[51]
    w13 = (block[52] << 24) | (block[53] << 16) | (block[54] << 8) | block[55]
    w14 = (block[56] << 24) | (block[57] << 16) | (block[58] << 8) | block[59]
    w15 = (block[60] << 24) | (block[61] << 16) | (block[62] << 8) | block[63]

    # Rounds 0-19.
    k = 0x5A827999
    e = (e + ((a << 5) | (a >> 27)) + (d ^ (b & (c ^ d))) + k + w0) & M
    b = ((b << 30) | (b >> 2)) & M
    d = (d + ((e << 5) | (e >> 27)) + (c ^ (a & (b ^ c))) + k + w1) & M
    a = ((a << 30) | (a >> 2)) & M
    c = (c + ((d << 5) | (d >> 27)) + (b ^ (e & (a ^ b))) + k + w2) & M
    e = ((e << 30) | (e >> 2)) & M
    b = (b + ((c << 5) | (c >> 27)) + (a ^ (d & (e ^ a))) + k + w3) & M
    d = ((d << 30) | (d >> 2)) & M
    a = (a + ((b << 5) | (b >> 27)) + (e ^ (c & (d ^ e))) + k + w4) & M
    c = ((c << 30) | (c >> 2)) & M
    e = (e + ((a << 5) | (a >> 27)) + (d ^ (b & (c ^ d))) + k + w5) & M
    b = ((b << 30) | (b >> 2)) & M
    d = (d + ((e << 5) | (e >> 27)) + (c ^ (a & (b ^ c))) + k + w6) & M
    a = ((a << 30) | (a >> 2)) & M
    c = (c + ((d << 5) | (d >> 27)) + (b ^ (e & (a ^ b))) + k + w7) & M
    e = ((e << 30) | (e >> 2)) & M
    b = (b + ((c << 5) | (c >> 27)) + (a ^ (d & (e ^ a))) + k + w8) & M
    d = ((d << 30) | (d >> 2)) & M
    a = (a + ((b << 5) | (b >> 27)) + (e ^ (c & (d ^ e))) + k + w9) & M
    c = ((c << 30) | (c >> 2)) & M
    e = (e + ((a << 5) | (a >> 27)) + (d ^ (b & (c ^ d))) + k + w10) & M
    b = ((b << 30) | (b >> 2)) & M
    d = (d + ((e << 5) | (e >> 27)) + (c ^ (a & (b ^ c))) + k + w11) & M
    a = ((a << 30) | (a >> 2)) & M
    c = (c + ((d << 5) | (d >> 27)) + (b ^ (e & (a ^ b))) + k + w12) & M
    e = ((e << 30) | (e >> 2)) & M
    b = (b + ((c << 5) | (c >> 27)) + (a ^ (d & (e ^ a))) + k + w13) & M
    d = ((d << 30) | (d >> 2)) & M
    a = (a + ((b << 5) | (b >> 27)) + (e ^ (c & (d ^ e))) + k + w14) & M
    c = ((c << 30) | (c >> 2)) & M
    e = (e + ((a << 5) | (a >> 27)) + (d ^ (b & (c ^ d))) + k + w15) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w13 ^ w8 ^ w2 ^ w0
    w0 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (c ^ (a & (b ^ c))) + k + w0) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w14 ^ w9 ^ w3 ^ w1
    w1 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (b ^ (e & (a ^ b))) + k + w1) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w15 ^ w10 ^ w4 ^ w2
    w2 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (a ^ (d & (e ^ a))) + k + w2) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w0 ^ w11 ^ w5 ^ w3
    w3 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (e ^ (c & (d ^ e))) + k + w3) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w1 ^ w12 ^ w6 ^ w4
    w4 = ((x << 1) | (x >> 31)) & M
    # Rounds 20-39.
    k = 0x6ED9EBA1
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w4) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w2 ^ w13 ^ w7 ^ w5
    w5 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w5) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w3 ^ w14 ^ w8 ^ w6
    w6 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w6) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w4 ^ w15 ^ w9 ^ w7
    w7 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w7) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w5 ^ w0 ^ w10 ^ w8
    w8 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w8) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w6 ^ w1 ^ w11 ^ w9
    w9 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w9) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w7 ^ w2 ^ w12 ^ w10
    w10 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w10) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w8 ^ w3 ^ w13 ^ w11
    w11 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w11) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w9 ^ w4 ^ w14 ^ w12
    w12 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w12) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w10 ^ w5 ^ w15 ^ w13
    w13 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w13) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w11 ^ w6 ^ w0 ^ w14
    w14 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w14) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w12 ^ w7 ^ w1 ^ w15
    w15 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w15) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w13 ^ w8 ^ w2 ^ w0
    w0 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w0) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w14 ^ w9 ^ w3 ^ w1
    w1 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w1) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w15 ^ w10 ^ w4 ^ w2
    w2 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w2) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w0 ^ w11 ^ w5 ^ w3
    w3 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w3) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w1 ^ w12 ^ w6 ^ w4
    w4 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w4) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w2 ^ w13 ^ w7 ^ w5
    w5 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w5) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w3 ^ w14 ^ w8 ^ w6
    w6 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w6) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w4 ^ w15 ^ w9 ^ w7
    w7 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w7) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w5 ^ w0 ^ w10 ^ w8
    w8 = ((x << 1) | (x >> 31)) & M
    # Rounds 40-59.
    k = 0x8F1BBCDC
    e = (e + ((a << 5) | (a >> 27)) + ((b & c) | (d & (b | c))) + k + w8) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w6 ^ w1 ^ w11 ^ w9
    w9 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + ((a & b) | (c & (a | b))) + k + w9) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w7 ^ w2 ^ w12 ^ w10
    w10 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + ((e & a) | (b & (e | a))) + k + w10) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w8 ^ w3 ^ w13 ^ w11
    w11 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + ((d & e) | (a & (d | e))) + k + w11) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w9 ^ w4 ^ w14 ^ w12
    w12 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + ((c & d) | (e & (c | d))) + k + w12) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w10 ^ w5 ^ w15 ^ w13
    w13 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + ((b & c) | (d & (b | c))) + k + w13) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w11 ^ w6 ^ w0 ^ w14
    w14 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + ((a & b) | (c & (a | b))) + k + w14) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w12 ^ w7 ^ w1 ^ w15
    w15 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + ((e & a) | (b & (e | a))) + k + w15) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w13 ^ w8 ^ w2 ^ w0
    w0 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + ((d & e) | (a & (d | e))) + k + w0) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w14 ^ w9 ^ w3 ^ w1
    w1 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + ((c & d) | (e & (c | d))) + k + w1) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w15 ^ w10 ^ w4 ^ w2
    w2 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + ((b & c) | (d & (b | c))) + k + w2) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w0 ^ w11 ^ w5 ^ w3
    w3 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + ((a & b) | (c & (a | b))) + k + w3) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w1 ^ w12 ^ w6 ^ w4
    w4 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + ((e & a) | (b & (e | a))) + k + w4) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w2 ^ w13 ^ w7 ^ w5
    w5 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + ((d & e) | (a & (d | e))) + k + w5) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w3 ^ w14 ^ w8 ^ w6
    w6 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + ((c & d) | (e & (c | d))) + k + w6) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w4 ^ w15 ^ w9 ^ w7
    w7 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + ((b & c) | (d & (b | c))) + k + w7) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w5 ^ w0 ^ w10 ^ w8
    w8 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + ((a & b) | (c & (a | b))) + k + w8) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w6 ^ w1 ^ w11 ^ w9
    w9 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + ((e & a) | (b & (e | a))) + k + w9) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w7 ^ w2 ^ w12 ^ w10
    w10 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + ((d & e) | (a & (d | e))) + k + w10) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w8 ^ w3 ^ w13 ^ w11
    w11 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + ((c & d) | (e & (c | d))) + k + w11) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w9 ^ w4 ^ w14 ^ w12
    w12 = ((x << 1) | (x >> 31)) & M
    # Rounds 60-79.
    k = 0xCA62C1D6
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w12) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w10 ^ w5 ^ w15 ^ w13
    w13 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w13) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w11 ^ w6 ^ w0 ^ w14
    w14 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w14) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w12 ^ w7 ^ w1 ^ w15
    w15 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w15) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w13 ^ w8 ^ w2 ^ w0
    w0 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w0) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w14 ^ w9 ^ w3 ^ w1
    w1 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w1) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w15 ^ w10 ^ w4 ^ w2
    w2 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w2) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w0 ^ w11 ^ w5 ^ w3
    w3 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w3) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w1 ^ w12 ^ w6 ^ w4
    w4 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w4) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w2 ^ w13 ^ w7 ^ w5
    w5 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w5) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w3 ^ w14 ^ w8 ^ w6
    w6 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w6) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w4 ^ w15 ^ w9 ^ w7
    w7 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w7) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w5 ^ w0 ^ w10 ^ w8
    w8 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w8) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w6 ^ w1 ^ w11 ^ w9
    w9 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w9) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w7 ^ w2 ^ w12 ^ w10
    w10 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w10) & M
    c = ((c << 30) | (c >> 2)) & M
    x = w8 ^ w3 ^ w13 ^ w11
    w11 = ((x << 1) | (x >> 31)) & M
    e = (e + ((a << 5) | (a >> 27)) + (b ^ c ^ d) + k + w11) & M
    b = ((b << 30) | (b >> 2)) & M
    x = w9 ^ w4 ^ w14 ^ w12
    w12 = ((x << 1) | (x >> 31)) & M
    d = (d + ((e << 5) | (e >> 27)) + (a ^ b ^ c) + k + w12) & M
    a = ((a << 30) | (a >> 2)) & M
    x = w10 ^ w5 ^ w15 ^ w13
    w13 = ((x << 1) | (x >> 31)) & M
    c = (c + ((d << 5) | (d >> 27)) + (e ^ a ^ b) + k + w13) & M
    e = ((e << 30) | (e >> 2)) & M
    x = w11 ^ w6 ^ w0 ^ w14
    w14 = ((x << 1) | (x >> 31)) & M
    b = (b + ((c << 5) | (c >> 27)) + (d ^ e ^ a) + k + w14) & M
    d = ((d << 30) | (d >> 2)) & M
    x = w12 ^ w7 ^ w1 ^ w15
    w15 = ((x << 1) | (x >> 31)) & M
    a = (a + ((b << 5) | (b >> 27)) + (c ^ d ^ e) + k + w15) & M
    c = ((c << 30) | (c >> 2)) & M
    a = (state[0] + a) & M
    b = (state[1] + b) & M
    c = (state[2] + c) & M
    d = (state[3] + d) & M
    e = (state[4] + e) & M
    if out is None:
        state[0] = a
        state[1] = b
        state[2] = c
        state[3] = d
        state[4] = e
        return
    # One call, no allocation: cheaper than twenty byte stores.
    _pack(">5I", out, 0, a, b, c, d, e)
