# Pure-Python SHA-256 compression (FIPS 180-4) for boards without a native sha256.
# Same layout as sha1.py: 32-bit words as 16-bit halves so that no intermediate reaches
# 2**30 (a heap big int on 32-bit MicroPython / CircuitPython); rotations across the
# halves are written out per constant, and their left-shifted parts are masked once.

BLOCK_SIZE = 64
DIGEST_SIZE = 32
IV = (
    0x6A09, 0xE667, 0xBB67, 0xAE85, 0x3C6E, 0xF372, 0xA54F, 0xF53A,
    0x510E, 0x527F, 0x9B05, 0x688C, 0x1F83, 0xD9AB, 0x5BE0, 0xCD19,
)

# Round constants split into high and low halves.
_KH = (
    0x428A, 0x7137, 0xB5C0, 0xE9B5, 0x3956, 0x59F1, 0x923F, 0xAB1C,
    0xD807, 0x1283, 0x2431, 0x550C, 0x72BE, 0x80DE, 0x9BDC, 0xC19B,
    0xE49B, 0xEFBE, 0x0FC1, 0x240C, 0x2DE9, 0x4A74, 0x5CB0, 0x76F9,
    0x983E, 0xA831, 0xB003, 0xBF59, 0xC6E0, 0xD5A7, 0x06CA, 0x1429,
    0x27B7, 0x2E1B, 0x4D2C, 0x5338, 0x650A, 0x766A, 0x81C2, 0x9272,
    0xA2BF, 0xA81A, 0xC24B, 0xC76C, 0xD192, 0xD699, 0xF40E, 0x106A,
    0x19A4, 0x1E37, 0x2748, 0x34B0, 0x391C, 0x4ED8, 0x5B9C, 0x682E,
    0x748F, 0x78A5, 0x84C8, 0x8CC7, 0x90BE, 0xA450, 0xBEF9, 0xC671,
)
_KL = (
    0x2F98, 0x4491, 0xFBCF, 0xDBA5, 0xC25B, 0x11F1, 0x82A4, 0x5ED5,
    0xAA98, 0x5B01, 0x85BE, 0x7DC3, 0x5D74, 0xB1FE, 0x06A7, 0xF174,
    0x69C1, 0x4786, 0x9DC6, 0xA1CC, 0x2C6F, 0x84AA, 0xA9DC, 0x88DA,
    0x5152, 0xC66D, 0x27C8, 0x7FC7, 0x0BF3, 0x9147, 0x6351, 0x2967,
    0x0A85, 0x2138, 0x6DFC, 0x0D13, 0x7354, 0x0ABB, 0xC92E, 0x2C85,
    0xE8A1, 0x664B, 0x8B70, 0x51A3, 0xE819, 0x0624, 0x3585, 0xA070,
    0xC116, 0x6C08, 0x774C, 0xBCB5, 0x0CB3, 0xAA4A, 0xCA4F, 0x6FF3,
    0x82EE, 0x636F, 0x7814, 0x0208, 0xFFFA, 0x6CEB, 0xA3F7, 0x78F2,
)

# Scratch state for compress(..., out).
_T = [0] * 16
_WH = [0] * 64
_WL = [0] * 64


def _schedule(block, off):
    # Apart from the rounds so that neither function's bytecode needs one large
    # contiguous heap block.
    wh = _WH
    wl = _WL
    for t in range(16):
        wh[t] = (block[off] << 8) | block[off + 1]
        wl[t] = (block[off + 2] << 8) | block[off + 3]
        off += 4
    for t in range(16, 64):
        # sigma1(W[t-2]) = ROTR17 ^ ROTR19 ^ SHR10, sigma0(W[t-15]) = ROTR7 ^ ROTR18 ^ SHR3;
        # ROTR17's high bit is masked before the shift (H << 15 would pass 2**30).
        h = wh[t - 2]
        x = wl[t - 2]
        sh = (x >> 1) ^ (x >> 3) ^ (h >> 10) ^ ((((h & 1) << 15) ^ (h << 13)) & 0xFFFF)
        sl = (h >> 1) ^ (h >> 3) ^ (x >> 10) ^ ((((x & 1) << 15) ^ (x << 13) ^ (h << 6)) & 0xFFFF)
        h = wh[t - 15]
        x = wl[t - 15]
        sh += (h >> 7) ^ (x >> 2) ^ (h >> 3) ^ (((x << 9) ^ (h << 14)) & 0xFFFF)
        sl += (x >> 7) ^ (h >> 2) ^ (x >> 3) ^ (((h << 9) ^ (x << 14) ^ (h << 13)) & 0xFFFF)
        x = sl + wl[t - 7] + wl[t - 16]
        wh[t] = (sh + wh[t - 7] + wh[t - 16] + (x >> 16)) & 0xFFFF
        wl[t] = x & 0xFFFF


def compress(state, block, off=0, out=None):
    """Fold the 64 bytes of ``block`` starting at ``off`` into ``state`` in place, or,
    given a bytearray ``out``, write the new state there as digest bytes and leave
    ``state`` as it was (an HMAC's precomputed key states)."""
    _schedule(block, off)
    wh = _WH
    wl = _WL
    kh = _KH
    kl = _KL
    ah = state[0]
    al = state[1]
    bh = state[2]
    bl = state[3]
    ch = state[4]
    cl = state[5]
    dh = state[6]
    dl = state[7]
    eh = state[8]
    el = state[9]
    fh = state[10]
    fl = state[11]
    gh = state[12]
    gl = state[13]
    hh = state[14]
    hl = state[15]
    # One round per pass: unrolling eight rounds to avoid the shuffle is faster, but its
    # source needs more heap to compile than a small board can spare.  T1 is kept as
    # unnormalised halves (y, x) and folded into the new e and a with carry.
    for t in range(64):
        x = hl + ((el >> 6) ^ (el >> 11) ^ (eh >> 9) ^ (((eh << 10) ^ (eh << 5) ^ (el << 7)) & 0xFFFF)) + (gl ^ (el & (fl ^ gl))) + kl[t] + wl[t]
        y = hh + ((eh >> 6) ^ (eh >> 11) ^ (el >> 9) ^ (((el << 10) ^ (el << 5) ^ (eh << 7)) & 0xFFFF)) + (gh ^ (eh & (fh ^ gh))) + kh[t] + wh[t]
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        z = dl + x
        eh = (dh + y + (z >> 16)) & 0xFFFF
        el = z & 0xFFFF
        z = x + ((al >> 2) ^ (al >> 13) ^ (ah >> 6) ^ (((ah << 14) ^ (ah << 3) ^ (al << 10)) & 0xFFFF)) + ((al & bl) | (cl & (al | bl)))
        y += ((ah >> 2) ^ (ah >> 13) ^ (al >> 6) ^ (((al << 14) ^ (al << 3) ^ (ah << 10)) & 0xFFFF)) + ((ah & bh) | (ch & (ah | bh))) + (z >> 16)
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        ah = y & 0xFFFF
        al = z & 0xFFFF
    dst = state if out is None else _T
    x = state[1] + al
    dst[0] = (state[0] + ah + (x >> 16)) & 0xFFFF
    dst[1] = x & 0xFFFF
    x = state[3] + bl
    dst[2] = (state[2] + bh + (x >> 16)) & 0xFFFF
    dst[3] = x & 0xFFFF
    x = state[5] + cl
    dst[4] = (state[4] + ch + (x >> 16)) & 0xFFFF
    dst[5] = x & 0xFFFF
    x = state[7] + dl
    dst[6] = (state[6] + dh + (x >> 16)) & 0xFFFF
    dst[7] = x & 0xFFFF
    x = state[9] + el
    dst[8] = (state[8] + eh + (x >> 16)) & 0xFFFF
    dst[9] = x & 0xFFFF
    x = state[11] + fl
    dst[10] = (state[10] + fh + (x >> 16)) & 0xFFFF
    dst[11] = x & 0xFFFF
    x = state[13] + gl
    dst[12] = (state[12] + gh + (x >> 16)) & 0xFFFF
    dst[13] = x & 0xFFFF
    x = state[15] + hl
    dst[14] = (state[14] + hh + (x >> 16)) & 0xFFFF
    dst[15] = x & 0xFFFF
    if out is not None:
        i = 0
        for limb in dst:
            out[i] = limb >> 8
            out[i + 1] = limb & 0xFF
            i += 2
