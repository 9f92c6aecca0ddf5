# Pure-Python SHA-512 compression (FIPS 180-4); no CircuitPython build has a native one.
# Each 64-bit word is four 16-bit limbs (most significant first in the state, which is
# the digest's byte order) so that no intermediate reaches 2**30, where a 32-bit
# MicroPython / CircuitPython build switches to heap big ints.  Rotations are written out
# per constant; limbs are named x3 (most significant) .. x0 in the code.

BLOCK_SIZE = 128
DIGEST_SIZE = 64
IV = (
    0x6A09, 0xE667, 0xF3BC, 0xC908,
    0xBB67, 0xAE85, 0x84CA, 0xA73B,
    0x3C6E, 0xF372, 0xFE94, 0xF82B,
    0xA54F, 0xF53A, 0x5F1D, 0x36F1,
    0x510E, 0x527F, 0xADE6, 0x82D1,
    0x9B05, 0x688C, 0x2B3E, 0x6C1F,
    0x1F83, 0xD9AB, 0xFB41, 0xBD6B,
    0x5BE0, 0xCD19, 0x137E, 0x2179,
)

# Round constants as one bytes literal (small to parse and hold), unpacked once into
# one tuple per limb (3 = most significant).
_K = (
    b"\x42\x8a\x2f\x98\xd7\x28\xae\x22\x71\x37\x44\x91\x23\xef\x65\xcd"
    b"\xb5\xc0\xfb\xcf\xec\x4d\x3b\x2f\xe9\xb5\xdb\xa5\x81\x89\xdb\xbc"
    b"\x39\x56\xc2\x5b\xf3\x48\xb5\x38\x59\xf1\x11\xf1\xb6\x05\xd0\x19"
    b"\x92\x3f\x82\xa4\xaf\x19\x4f\x9b\xab\x1c\x5e\xd5\xda\x6d\x81\x18"
    b"\xd8\x07\xaa\x98\xa3\x03\x02\x42\x12\x83\x5b\x01\x45\x70\x6f\xbe"
    b"\x24\x31\x85\xbe\x4e\xe4\xb2\x8c\x55\x0c\x7d\xc3\xd5\xff\xb4\xe2"
    b"\x72\xbe\x5d\x74\xf2\x7b\x89\x6f\x80\xde\xb1\xfe\x3b\x16\x96\xb1"
    b"\x9b\xdc\x06\xa7\x25\xc7\x12\x35\xc1\x9b\xf1\x74\xcf\x69\x26\x94"
    b"\xe4\x9b\x69\xc1\x9e\xf1\x4a\xd2\xef\xbe\x47\x86\x38\x4f\x25\xe3"
    b"\x0f\xc1\x9d\xc6\x8b\x8c\xd5\xb5\x24\x0c\xa1\xcc\x77\xac\x9c\x65"
    b"\x2d\xe9\x2c\x6f\x59\x2b\x02\x75\x4a\x74\x84\xaa\x6e\xa6\xe4\x83"
    b"\x5c\xb0\xa9\xdc\xbd\x41\xfb\xd4\x76\xf9\x88\xda\x83\x11\x53\xb5"
    b"\x98\x3e\x51\x52\xee\x66\xdf\xab\xa8\x31\xc6\x6d\x2d\xb4\x32\x10"
    b"\xb0\x03\x27\xc8\x98\xfb\x21\x3f\xbf\x59\x7f\xc7\xbe\xef\x0e\xe4"
    b"\xc6\xe0\x0b\xf3\x3d\xa8\x8f\xc2\xd5\xa7\x91\x47\x93\x0a\xa7\x25"
    b"\x06\xca\x63\x51\xe0\x03\x82\x6f\x14\x29\x29\x67\x0a\x0e\x6e\x70"
    b"\x27\xb7\x0a\x85\x46\xd2\x2f\xfc\x2e\x1b\x21\x38\x5c\x26\xc9\x26"
    b"\x4d\x2c\x6d\xfc\x5a\xc4\x2a\xed\x53\x38\x0d\x13\x9d\x95\xb3\xdf"
    b"\x65\x0a\x73\x54\x8b\xaf\x63\xde\x76\x6a\x0a\xbb\x3c\x77\xb2\xa8"
    b"\x81\xc2\xc9\x2e\x47\xed\xae\xe6\x92\x72\x2c\x85\x14\x82\x35\x3b"
    b"\xa2\xbf\xe8\xa1\x4c\xf1\x03\x64\xa8\x1a\x66\x4b\xbc\x42\x30\x01"
    b"\xc2\x4b\x8b\x70\xd0\xf8\x97\x91\xc7\x6c\x51\xa3\x06\x54\xbe\x30"
    b"\xd1\x92\xe8\x19\xd6\xef\x52\x18\xd6\x99\x06\x24\x55\x65\xa9\x10"
    b"\xf4\x0e\x35\x85\x57\x71\x20\x2a\x10\x6a\xa0\x70\x32\xbb\xd1\xb8"
    b"\x19\xa4\xc1\x16\xb8\xd2\xd0\xc8\x1e\x37\x6c\x08\x51\x41\xab\x53"
    b"\x27\x48\x77\x4c\xdf\x8e\xeb\x99\x34\xb0\xbc\xb5\xe1\x9b\x48\xa8"
    b"\x39\x1c\x0c\xb3\xc5\xc9\x5a\x63\x4e\xd8\xaa\x4a\xe3\x41\x8a\xcb"
    b"\x5b\x9c\xca\x4f\x77\x63\xe3\x73\x68\x2e\x6f\xf3\xd6\xb2\xb8\xa3"
    b"\x74\x8f\x82\xee\x5d\xef\xb2\xfc\x78\xa5\x63\x6f\x43\x17\x2f\x60"
    b"\x84\xc8\x78\x14\xa1\xf0\xab\x72\x8c\xc7\x02\x08\x1a\x64\x39\xec"
    b"\x90\xbe\xff\xfa\x23\x63\x1e\x28\xa4\x50\x6c\xeb\xde\x82\xbd\xe9"
    b"\xbe\xf9\xa3\xf7\xb2\xc6\x79\x15\xc6\x71\x78\xf2\xe3\x72\x53\x2b"
    b"\xca\x27\x3e\xce\xea\x26\x61\x9c\xd1\x86\xb8\xc7\x21\xc0\xc2\x07"
    b"\xea\xda\x7d\xd6\xcd\xe0\xeb\x1e\xf5\x7d\x4f\x7f\xee\x6e\xd1\x78"
    b"\x06\xf0\x67\xaa\x72\x17\x6f\xba\x0a\x63\x7d\xc5\xa2\xc8\x98\xa6"
    b"\x11\x3f\x98\x04\xbe\xf9\x0d\xae\x1b\x71\x0b\x35\x13\x1c\x47\x1b"
    b"\x28\xdb\x77\xf5\x23\x04\x7d\x84\x32\xca\xab\x7b\x40\xc7\x24\x93"
    b"\x3c\x9e\xbe\x0a\x15\xc9\xbe\xbc\x43\x1d\x67\xc4\x9c\x10\x0d\x4c"
    b"\x4c\xc5\xd4\xbe\xcb\x3e\x42\xb6\x59\x7f\x29\x9c\xfc\x65\x7e\x2a"
    b"\x5f\xcb\x6f\xab\x3a\xd6\xfa\xec\x6c\x44\x19\x8c\x4a\x47\x58\x17"
)


def _limbs(data, k):
    return tuple((data[i] << 8) | data[i + 1] for i in range(6 - 2 * k, len(data), 8))


_K3 = _limbs(_K, 3)
_K2 = _limbs(_K, 2)
_K1 = _limbs(_K, 1)
_K0 = _limbs(_K, 0)
del _K

_W3 = [0] * 80
_W2 = [0] * 80
_W1 = [0] * 80
_W0 = [0] * 80

# Scratch state for compress(..., out).
_TMP = [0] * 32
# The working variables after the rounds (_rounds), a3 .. h0.
_V = [0] * 32


def _schedule(block, off):
    # Kept apart from the rounds so that neither function's bytecode needs one large
    # contiguous heap block on a fragmented heap.
    w3 = _W3
    w2 = _W2
    w1 = _W1
    w0 = _W0
    for t in range(16):
        w3[t] = (block[off] << 8) | block[off + 1]
        w2[t] = (block[off + 2] << 8) | block[off + 3]
        w1[t] = (block[off + 4] << 8) | block[off + 5]
        w0[t] = (block[off + 6] << 8) | block[off + 7]
        off += 8
    for t in range(16, 80):
        # sigma1(W[t-2]) = ROTR19 ^ ROTR61 ^ SHR6; sigma0(W[t-15]) = ROTR1 ^ ROTR8 ^ SHR7
        p3 = w3[t - 2]
        p2 = w2[t - 2]
        p1 = w1[t - 2]
        p0 = w0[t - 2]
        q3 = w3[t - 15]
        q2 = w2[t - 15]
        q1 = w1[t - 15]
        q0 = w0[t - 15]
        u0 = (p1 >> 3) ^ (p3 >> 13) ^ (p0 >> 6) ^ (((p2 << 13) ^ (p0 << 3) ^ (p1 << 10)) & 0xFFFF)
        u0 += (q0 >> 1) ^ (q0 >> 8) ^ (q0 >> 7) ^ ((((q1 & 1) << 15) ^ (q1 << 8) ^ (q1 << 9)) & 0xFFFF)
        u1 = (p2 >> 3) ^ (p0 >> 13) ^ (p1 >> 6) ^ (((p3 << 13) ^ (p1 << 3) ^ (p2 << 10)) & 0xFFFF)
        u1 += (q1 >> 1) ^ (q1 >> 8) ^ (q1 >> 7) ^ ((((q2 & 1) << 15) ^ (q2 << 8) ^ (q2 << 9)) & 0xFFFF)
        u2 = (p3 >> 3) ^ (p1 >> 13) ^ (p2 >> 6) ^ (((p0 << 13) ^ (p2 << 3) ^ (p3 << 10)) & 0xFFFF)
        u2 += (q2 >> 1) ^ (q2 >> 8) ^ (q2 >> 7) ^ ((((q3 & 1) << 15) ^ (q3 << 8) ^ (q3 << 9)) & 0xFFFF)
        u3 = (p0 >> 3) ^ (p2 >> 13) ^ (p3 >> 6) ^ (((p1 << 13) ^ (p3 << 3)) & 0xFFFF)
        u3 += (q3 >> 1) ^ (q3 >> 8) ^ (q3 >> 7) ^ ((((q0 & 1) << 15) ^ (q0 << 8)) & 0xFFFF)
        u0 += w0[t - 7] + w0[t - 16]
        w0[t] = u0 & 0xFFFF
        u1 += w1[t - 7] + w1[t - 16] + (u0 >> 16)
        w1[t] = u1 & 0xFFFF
        u2 += w2[t - 7] + w2[t - 16] + (u1 >> 16)
        w2[t] = u2 & 0xFFFF
        w3[t] = (u3 + w3[t - 7] + w3[t - 16] + (u2 >> 16)) & 0xFFFF


def _rounds(state):
    # The 80 rounds from ``state``; the working variables a..h end in _V (limbs as in the
    # state). Apart from compress()'s feed-forward, so that no function's bytecode is one
    # block of nearly 2 KB: on CircuitPython 10.2.1, after an import of 200 accounts, the
    # first SHA-512 code sometimes found no hole that large and was not shown.
    w3 = _W3
    w2 = _W2
    w1 = _W1
    w0 = _W0
    k3 = _K3
    k2 = _K2
    k1 = _K1
    k0 = _K0
    a3 = state[0]
    a2 = state[1]
    a1 = state[2]
    a0 = state[3]
    b3 = state[4]
    b2 = state[5]
    b1 = state[6]
    b0 = state[7]
    c3 = state[8]
    c2 = state[9]
    c1 = state[10]
    c0 = state[11]
    d3 = state[12]
    d2 = state[13]
    d1 = state[14]
    d0 = state[15]
    e3 = state[16]
    e2 = state[17]
    e1 = state[18]
    e0 = state[19]
    f3 = state[20]
    f2 = state[21]
    f1 = state[22]
    f0 = state[23]
    g3 = state[24]
    g2 = state[25]
    g1 = state[26]
    g0 = state[27]
    h3 = state[28]
    h2 = state[29]
    h1 = state[30]
    h0 = state[31]
    for t in range(80):
        # T1 = h + Sigma1(e) + Ch(e, f, g) + K + W as unnormalised limbs u3..u0
        u0 = h0 + ((e0 >> 14) ^ (e1 >> 2) ^ (e2 >> 9) ^ (((e1 << 2) ^ (e2 << 14) ^ (e3 << 7)) & 0xFFFF)) + (g0 ^ (e0 & (f0 ^ g0))) + k0[t] + w0[t]
        u1 = h1 + ((e1 >> 14) ^ (e2 >> 2) ^ (e3 >> 9) ^ (((e2 << 2) ^ (e3 << 14) ^ (e0 << 7)) & 0xFFFF)) + (g1 ^ (e1 & (f1 ^ g1))) + k1[t] + w1[t]
        u2 = h2 + ((e2 >> 14) ^ (e3 >> 2) ^ (e0 >> 9) ^ (((e3 << 2) ^ (e0 << 14) ^ (e1 << 7)) & 0xFFFF)) + (g2 ^ (e2 & (f2 ^ g2))) + k2[t] + w2[t]
        u3 = h3 + ((e3 >> 14) ^ (e0 >> 2) ^ (e1 >> 9) ^ (((e0 << 2) ^ (e1 << 14) ^ (e2 << 7)) & 0xFFFF)) + (g3 ^ (e3 & (f3 ^ g3))) + k3[t] + w3[t]
        # new e = d + T1; new a = T1 + Sigma0(a) + Maj(a, b, c)
        z = d0 + u0
        m0 = z & 0xFFFF
        z = d1 + u1 + (z >> 16)
        m1 = z & 0xFFFF
        z = d2 + u2 + (z >> 16)
        m2 = z & 0xFFFF
        m3 = (d3 + u3 + (z >> 16)) & 0xFFFF
        z = u0 + ((a1 >> 12) ^ (a2 >> 2) ^ (a2 >> 7) ^ (((a2 << 4) ^ (a3 << 14) ^ (a3 << 9)) & 0xFFFF)) + ((a0 & b0) | (c0 & (a0 | b0)))
        n0 = z & 0xFFFF
        z = u1 + ((a2 >> 12) ^ (a3 >> 2) ^ (a3 >> 7) ^ (((a3 << 4) ^ (a0 << 14) ^ (a0 << 9)) & 0xFFFF)) + ((a1 & b1) | (c1 & (a1 | b1))) + (z >> 16)
        n1 = z & 0xFFFF
        z = u2 + ((a3 >> 12) ^ (a0 >> 2) ^ (a0 >> 7) ^ (((a0 << 4) ^ (a1 << 14) ^ (a1 << 9)) & 0xFFFF)) + ((a2 & b2) | (c2 & (a2 | b2))) + (z >> 16)
        n2 = z & 0xFFFF
        n3 = (u3 + ((a0 >> 12) ^ (a1 >> 2) ^ (a1 >> 7) ^ (((a1 << 4) ^ (a2 << 14) ^ (a2 << 9)) & 0xFFFF)) + ((a3 & b3) | (c3 & (a3 | b3))) + (z >> 16)) & 0xFFFF
        h3 = g3
        g3 = f3
        f3 = e3
        e3 = m3
        d3 = c3
        c3 = b3
        b3 = a3
        a3 = n3
        h2 = g2
        g2 = f2
        f2 = e2
        e2 = m2
        d2 = c2
        c2 = b2
        b2 = a2
        a2 = n2
        h1 = g1
        g1 = f1
        f1 = e1
        e1 = m1
        d1 = c1
        c1 = b1
        b1 = a1
        a1 = n1
        h0 = g0
        g0 = f0
        f0 = e0
        e0 = m0
        d0 = c0
        c0 = b0
        b0 = a0
        a0 = n0
    v = _V
    v[0] = a3
    v[1] = a2
    v[2] = a1
    v[3] = a0
    v[4] = b3
    v[5] = b2
    v[6] = b1
    v[7] = b0
    v[8] = c3
    v[9] = c2
    v[10] = c1
    v[11] = c0
    v[12] = d3
    v[13] = d2
    v[14] = d1
    v[15] = d0
    v[16] = e3
    v[17] = e2
    v[18] = e1
    v[19] = e0
    v[20] = f3
    v[21] = f2
    v[22] = f1
    v[23] = f0
    v[24] = g3
    v[25] = g2
    v[26] = g1
    v[27] = g0
    v[28] = h3
    v[29] = h2
    v[30] = h1
    v[31] = h0


def compress(state, block, off=0, out=None):
    """Fold the 128 bytes of ``block`` starting at ``off`` into ``state`` in place, or,
    given a bytearray ``out``, write the new state there as digest bytes and leave
    ``state`` as it was (an HMAC's precomputed key states)."""
    _schedule(block, off)
    _rounds(state)
    v = _V
    dst = state if out is None else _TMP
    for j in range(0, 32, 4):
        z = state[j + 3] + v[j + 3]
        dst[j + 3] = z & 0xFFFF
        z = state[j + 2] + v[j + 2] + (z >> 16)
        dst[j + 2] = z & 0xFFFF
        z = state[j + 1] + v[j + 1] + (z >> 16)
        dst[j + 1] = z & 0xFFFF
        dst[j] = (state[j] + v[j] + (z >> 16)) & 0xFFFF
    if out is not None:
        i = 0
        for limb in dst:
            out[i] = limb >> 8
            out[i + 1] = limb & 0xFF
            i += 2
