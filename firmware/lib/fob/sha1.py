# Pure-Python SHA-1 compression (FIPS 180-4) for boards without a native sha1.
# Each 32-bit word is held as two 16-bit halves (hi, lo): on a 32-bit MicroPython or
# CircuitPython build an int at or above 2**30 is a heap-allocated big int, so every
# intermediate here stays below 2**30.  The state is a flat list of 16-bit limbs,
# big-endian (h0 hi, h0 lo, h1 hi, ...), which is also the digest's byte order.
# The module must compile on the board in a small heap next to the rest of the firmware,
# which bounds how far the rounds can be unrolled.

BLOCK_SIZE = 64
DIGEST_SIZE = 20
IV = (0x6745, 0x2301, 0xEFCD, 0xAB89, 0x98BA, 0xDCFE, 0x1032, 0x5476, 0xC3D2, 0xE1F0)

# Message schedule and a scratch state, allocated once: the compression allocates nothing.
_WH = [0] * 80
_WL = [0] * 80
_T = [0] * 10
# (t, t - 3, t - 8, t - 14, t - 16) for each expanded word: reading indices from a tuple
# is cheaper than computing them in the loop.
_STEPS = tuple((t, t - 3, t - 8, t - 14, t - 16) for t in range(16, 80))


def _schedule(block, off):
    # Apart from the rounds so that neither function's bytecode needs one large
    # contiguous heap block.
    wh = _WH
    wl = _WL
    for t in range(16):
        wh[t] = (block[off] << 8) | block[off + 1]
        wl[t] = (block[off + 2] << 8) | block[off + 3]
        off += 4
    for t, i, j, k, m in _STEPS:
        h = wh[i] ^ wh[j] ^ wh[k] ^ wh[m]
        x = wl[i] ^ wl[j] ^ wl[k] ^ wl[m]
        wh[t] = ((h << 1) & 0xFFFF) | (x >> 15)
        wl[t] = ((x << 1) & 0xFFFF) | (h >> 15)


def compress(state, block, off=0, out=None):
    """Fold the 64 bytes of ``block`` starting at ``off`` into ``state`` in place, or,
    given a bytearray ``out``, write the new state there as digest bytes and leave
    ``state`` as it was (an HMAC's precomputed key states)."""
    _schedule(block, off)
    _rounds(state, out)


def _rounds(state, out):
    # Five rounds per pass with the variables' roles rotated instead of shuffling the
    # five words every round; rotl5(a)'s low half is added unmasked because the bits it
    # pushes past 16 are exactly rotl5's contribution to the high half (as carry).
    # rotl30 (= rotr2) takes each half's two low bits into the other half's top; masking
    # them before the shift keeps every result under 2**16 without a mask after.
    # Rounds 20-39 and 60-79 differ only in K, so one loop runs both.
    wh = _WH
    wl = _WL
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
    for t in range(0, 20, 5):
        x = el + (al << 5) + (ah >> 11) + (dl ^ (bl & (cl ^ dl))) + 0x7999 + wl[t]
        eh = (eh + (ah << 5) + (dh ^ (bh & (ch ^ dh))) + 0x5A82 + wh[t] + (x >> 16)) & 0xFFFF
        el = x & 0xFFFF
        bh, bl = ((bl & 3) << 14) | (bh >> 2), ((bh & 3) << 14) | (bl >> 2)
        x = dl + (el << 5) + (eh >> 11) + (cl ^ (al & (bl ^ cl))) + 0x7999 + wl[t + 1]
        dh = (dh + (eh << 5) + (ch ^ (ah & (bh ^ ch))) + 0x5A82 + wh[t + 1] + (x >> 16)) & 0xFFFF
        dl = x & 0xFFFF
        ah, al = ((al & 3) << 14) | (ah >> 2), ((ah & 3) << 14) | (al >> 2)
        x = cl + (dl << 5) + (dh >> 11) + (bl ^ (el & (al ^ bl))) + 0x7999 + wl[t + 2]
        ch = (ch + (dh << 5) + (bh ^ (eh & (ah ^ bh))) + 0x5A82 + wh[t + 2] + (x >> 16)) & 0xFFFF
        cl = x & 0xFFFF
        eh, el = ((el & 3) << 14) | (eh >> 2), ((eh & 3) << 14) | (el >> 2)
        x = bl + (cl << 5) + (ch >> 11) + (al ^ (dl & (el ^ al))) + 0x7999 + wl[t + 3]
        bh = (bh + (ch << 5) + (ah ^ (dh & (eh ^ ah))) + 0x5A82 + wh[t + 3] + (x >> 16)) & 0xFFFF
        bl = x & 0xFFFF
        dh, dl = ((dl & 3) << 14) | (dh >> 2), ((dh & 3) << 14) | (dl >> 2)
        x = al + (bl << 5) + (bh >> 11) + (el ^ (cl & (dl ^ el))) + 0x7999 + wl[t + 4]
        ah = (ah + (bh << 5) + (eh ^ (ch & (dh ^ eh))) + 0x5A82 + wh[t + 4] + (x >> 16)) & 0xFFFF
        al = x & 0xFFFF
        ch, cl = ((cl & 3) << 14) | (ch >> 2), ((ch & 3) << 14) | (cl >> 2)
    kh = 0x6ED9
    kl = 0xEBA1
    for t in range(20, 80, 5):
        if t == 60:
            kh = 0xCA62
            kl = 0xC1D6
        if 40 <= t < 60:
            x = el + (al << 5) + (ah >> 11) + ((bl & cl) | (dl & (bl | cl))) + 0xBCDC + wl[t]
            eh = (eh + (ah << 5) + ((bh & ch) | (dh & (bh | ch))) + 0x8F1B + wh[t] + (x >> 16)) & 0xFFFF
            el = x & 0xFFFF
            bh, bl = ((bl & 3) << 14) | (bh >> 2), ((bh & 3) << 14) | (bl >> 2)
            x = dl + (el << 5) + (eh >> 11) + ((al & bl) | (cl & (al | bl))) + 0xBCDC + wl[t + 1]
            dh = (dh + (eh << 5) + ((ah & bh) | (ch & (ah | bh))) + 0x8F1B + wh[t + 1] + (x >> 16)) & 0xFFFF
            dl = x & 0xFFFF
            ah, al = ((al & 3) << 14) | (ah >> 2), ((ah & 3) << 14) | (al >> 2)
            x = cl + (dl << 5) + (dh >> 11) + ((el & al) | (bl & (el | al))) + 0xBCDC + wl[t + 2]
            ch = (ch + (dh << 5) + ((eh & ah) | (bh & (eh | ah))) + 0x8F1B + wh[t + 2] + (x >> 16)) & 0xFFFF
            cl = x & 0xFFFF
            eh, el = ((el & 3) << 14) | (eh >> 2), ((eh & 3) << 14) | (el >> 2)
            x = bl + (cl << 5) + (ch >> 11) + ((dl & el) | (al & (dl | el))) + 0xBCDC + wl[t + 3]
            bh = (bh + (ch << 5) + ((dh & eh) | (ah & (dh | eh))) + 0x8F1B + wh[t + 3] + (x >> 16)) & 0xFFFF
            bl = x & 0xFFFF
            dh, dl = ((dl & 3) << 14) | (dh >> 2), ((dh & 3) << 14) | (dl >> 2)
            x = al + (bl << 5) + (bh >> 11) + ((cl & dl) | (el & (cl | dl))) + 0xBCDC + wl[t + 4]
            ah = (ah + (bh << 5) + ((ch & dh) | (eh & (ch | dh))) + 0x8F1B + wh[t + 4] + (x >> 16)) & 0xFFFF
            al = x & 0xFFFF
            ch, cl = ((cl & 3) << 14) | (ch >> 2), ((ch & 3) << 14) | (cl >> 2)
            continue
        x = el + (al << 5) + (ah >> 11) + (bl ^ cl ^ dl) + kl + wl[t]
        eh = (eh + (ah << 5) + (bh ^ ch ^ dh) + kh + wh[t] + (x >> 16)) & 0xFFFF
        el = x & 0xFFFF
        bh, bl = ((bl & 3) << 14) | (bh >> 2), ((bh & 3) << 14) | (bl >> 2)
        x = dl + (el << 5) + (eh >> 11) + (al ^ bl ^ cl) + kl + wl[t + 1]
        dh = (dh + (eh << 5) + (ah ^ bh ^ ch) + kh + wh[t + 1] + (x >> 16)) & 0xFFFF
        dl = x & 0xFFFF
        ah, al = ((al & 3) << 14) | (ah >> 2), ((ah & 3) << 14) | (al >> 2)
        x = cl + (dl << 5) + (dh >> 11) + (el ^ al ^ bl) + kl + wl[t + 2]
        ch = (ch + (dh << 5) + (eh ^ ah ^ bh) + kh + wh[t + 2] + (x >> 16)) & 0xFFFF
        cl = x & 0xFFFF
        eh, el = ((el & 3) << 14) | (eh >> 2), ((eh & 3) << 14) | (el >> 2)
        x = bl + (cl << 5) + (ch >> 11) + (dl ^ el ^ al) + kl + wl[t + 3]
        bh = (bh + (ch << 5) + (dh ^ eh ^ ah) + kh + wh[t + 3] + (x >> 16)) & 0xFFFF
        bl = x & 0xFFFF
        dh, dl = ((dl & 3) << 14) | (dh >> 2), ((dh & 3) << 14) | (dl >> 2)
        x = al + (bl << 5) + (bh >> 11) + (cl ^ dl ^ el) + kl + wl[t + 4]
        ah = (ah + (bh << 5) + (ch ^ dh ^ eh) + kh + wh[t + 4] + (x >> 16)) & 0xFFFF
        al = x & 0xFFFF
        ch, cl = ((cl & 3) << 14) | (ch >> 2), ((ch & 3) << 14) | (cl >> 2)
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
    if out is not None:
        _bytes(dst, out)


def _bytes(limbs, out):
    i = 0
    for limb in limbs:
        out[i] = limb >> 8
        out[i + 1] = limb & 0xFF
        i += 2
