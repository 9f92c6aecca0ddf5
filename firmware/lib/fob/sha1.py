# Pure-Python SHA-1 compression (FIPS 180-4) for boards without a native sha1.
# Each 32-bit word is held as two 16-bit halves (hi, lo): on a 32-bit MicroPython or
# CircuitPython build an int at or above 2**30 is a heap-allocated big int, so every
# intermediate here stays below 2**21.  The state is a flat list of 16-bit limbs,
# big-endian (h0 hi, h0 lo, h1 hi, ...), which is also the digest's byte order.

BLOCK_SIZE = 64
DIGEST_SIZE = 20
IV = (0x6745, 0x2301, 0xEFCD, 0xAB89, 0x98BA, 0xDCFE, 0x1032, 0x5476, 0xC3D2, 0xE1F0)

# Message schedule, allocated once: the compression runs without allocating.
_WH = [0] * 80
_WL = [0] * 80


def _schedule(block, off):
    # Apart from the rounds so that neither function's bytecode needs one large
    # contiguous heap block.
    wh = _WH
    wl = _WL
    for t in range(16):
        wh[t] = (block[off] << 8) | block[off + 1]
        wl[t] = (block[off + 2] << 8) | block[off + 3]
        off += 4
    for t in range(16, 80):
        h = wh[t - 3] ^ wh[t - 8] ^ wh[t - 14] ^ wh[t - 16]
        x = wl[t - 3] ^ wl[t - 8] ^ wl[t - 14] ^ wl[t - 16]
        wh[t] = ((h << 1) & 0xFFFF) | (x >> 15)
        wl[t] = ((x << 1) & 0xFFFF) | (h >> 15)


def compress(state, block, off=0):
    """Fold the 64 bytes of ``block`` starting at ``off`` into ``state`` in place."""
    _schedule(block, off)
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
    # Five rounds per pass with the variables' roles rotated instead of shuffling the
    # five words every round; rotl5(a)'s low half is added unmasked because the bits
    # it pushes past 16 are exactly rotl5's contribution to the high half (as carry).
    for t in range(0, 20, 5):
        x = el + (al << 5) + (ah >> 11) + (dl ^ (bl & (cl ^ dl))) + 0x7999 + wl[t]
        eh = (eh + (ah << 5) + (dh ^ (bh & (ch ^ dh))) + 0x5A82 + wh[t] + (x >> 16)) & 0xFFFF
        el = x & 0xFFFF
        x = ((bl << 14) | (bh >> 2)) & 0xFFFF
        bl = ((bh << 14) | (bl >> 2)) & 0xFFFF
        bh = x
        x = dl + (el << 5) + (eh >> 11) + (cl ^ (al & (bl ^ cl))) + 0x7999 + wl[t + 1]
        dh = (dh + (eh << 5) + (ch ^ (ah & (bh ^ ch))) + 0x5A82 + wh[t + 1] + (x >> 16)) & 0xFFFF
        dl = x & 0xFFFF
        x = ((al << 14) | (ah >> 2)) & 0xFFFF
        al = ((ah << 14) | (al >> 2)) & 0xFFFF
        ah = x
        x = cl + (dl << 5) + (dh >> 11) + (bl ^ (el & (al ^ bl))) + 0x7999 + wl[t + 2]
        ch = (ch + (dh << 5) + (bh ^ (eh & (ah ^ bh))) + 0x5A82 + wh[t + 2] + (x >> 16)) & 0xFFFF
        cl = x & 0xFFFF
        x = ((el << 14) | (eh >> 2)) & 0xFFFF
        el = ((eh << 14) | (el >> 2)) & 0xFFFF
        eh = x
        x = bl + (cl << 5) + (ch >> 11) + (al ^ (dl & (el ^ al))) + 0x7999 + wl[t + 3]
        bh = (bh + (ch << 5) + (ah ^ (dh & (eh ^ ah))) + 0x5A82 + wh[t + 3] + (x >> 16)) & 0xFFFF
        bl = x & 0xFFFF
        x = ((dl << 14) | (dh >> 2)) & 0xFFFF
        dl = ((dh << 14) | (dl >> 2)) & 0xFFFF
        dh = x
        x = al + (bl << 5) + (bh >> 11) + (el ^ (cl & (dl ^ el))) + 0x7999 + wl[t + 4]
        ah = (ah + (bh << 5) + (eh ^ (ch & (dh ^ eh))) + 0x5A82 + wh[t + 4] + (x >> 16)) & 0xFFFF
        al = x & 0xFFFF
        x = ((cl << 14) | (ch >> 2)) & 0xFFFF
        cl = ((ch << 14) | (cl >> 2)) & 0xFFFF
        ch = x
    for t in range(20, 40, 5):
        x = el + (al << 5) + (ah >> 11) + (bl ^ cl ^ dl) + 0xEBA1 + wl[t]
        eh = (eh + (ah << 5) + (bh ^ ch ^ dh) + 0x6ED9 + wh[t] + (x >> 16)) & 0xFFFF
        el = x & 0xFFFF
        x = ((bl << 14) | (bh >> 2)) & 0xFFFF
        bl = ((bh << 14) | (bl >> 2)) & 0xFFFF
        bh = x
        x = dl + (el << 5) + (eh >> 11) + (al ^ bl ^ cl) + 0xEBA1 + wl[t + 1]
        dh = (dh + (eh << 5) + (ah ^ bh ^ ch) + 0x6ED9 + wh[t + 1] + (x >> 16)) & 0xFFFF
        dl = x & 0xFFFF
        x = ((al << 14) | (ah >> 2)) & 0xFFFF
        al = ((ah << 14) | (al >> 2)) & 0xFFFF
        ah = x
        x = cl + (dl << 5) + (dh >> 11) + (el ^ al ^ bl) + 0xEBA1 + wl[t + 2]
        ch = (ch + (dh << 5) + (eh ^ ah ^ bh) + 0x6ED9 + wh[t + 2] + (x >> 16)) & 0xFFFF
        cl = x & 0xFFFF
        x = ((el << 14) | (eh >> 2)) & 0xFFFF
        el = ((eh << 14) | (el >> 2)) & 0xFFFF
        eh = x
        x = bl + (cl << 5) + (ch >> 11) + (dl ^ el ^ al) + 0xEBA1 + wl[t + 3]
        bh = (bh + (ch << 5) + (dh ^ eh ^ ah) + 0x6ED9 + wh[t + 3] + (x >> 16)) & 0xFFFF
        bl = x & 0xFFFF
        x = ((dl << 14) | (dh >> 2)) & 0xFFFF
        dl = ((dh << 14) | (dl >> 2)) & 0xFFFF
        dh = x
        x = al + (bl << 5) + (bh >> 11) + (cl ^ dl ^ el) + 0xEBA1 + wl[t + 4]
        ah = (ah + (bh << 5) + (ch ^ dh ^ eh) + 0x6ED9 + wh[t + 4] + (x >> 16)) & 0xFFFF
        al = x & 0xFFFF
        x = ((cl << 14) | (ch >> 2)) & 0xFFFF
        cl = ((ch << 14) | (cl >> 2)) & 0xFFFF
        ch = x
    for t in range(40, 60, 5):
        x = el + (al << 5) + (ah >> 11) + ((bl & cl) | (dl & (bl | cl))) + 0xBCDC + wl[t]
        eh = (eh + (ah << 5) + ((bh & ch) | (dh & (bh | ch))) + 0x8F1B + wh[t] + (x >> 16)) & 0xFFFF
        el = x & 0xFFFF
        x = ((bl << 14) | (bh >> 2)) & 0xFFFF
        bl = ((bh << 14) | (bl >> 2)) & 0xFFFF
        bh = x
        x = dl + (el << 5) + (eh >> 11) + ((al & bl) | (cl & (al | bl))) + 0xBCDC + wl[t + 1]
        dh = (dh + (eh << 5) + ((ah & bh) | (ch & (ah | bh))) + 0x8F1B + wh[t + 1] + (x >> 16)) & 0xFFFF
        dl = x & 0xFFFF
        x = ((al << 14) | (ah >> 2)) & 0xFFFF
        al = ((ah << 14) | (al >> 2)) & 0xFFFF
        ah = x
        x = cl + (dl << 5) + (dh >> 11) + ((el & al) | (bl & (el | al))) + 0xBCDC + wl[t + 2]
        ch = (ch + (dh << 5) + ((eh & ah) | (bh & (eh | ah))) + 0x8F1B + wh[t + 2] + (x >> 16)) & 0xFFFF
        cl = x & 0xFFFF
        x = ((el << 14) | (eh >> 2)) & 0xFFFF
        el = ((eh << 14) | (el >> 2)) & 0xFFFF
        eh = x
        x = bl + (cl << 5) + (ch >> 11) + ((dl & el) | (al & (dl | el))) + 0xBCDC + wl[t + 3]
        bh = (bh + (ch << 5) + ((dh & eh) | (ah & (dh | eh))) + 0x8F1B + wh[t + 3] + (x >> 16)) & 0xFFFF
        bl = x & 0xFFFF
        x = ((dl << 14) | (dh >> 2)) & 0xFFFF
        dl = ((dh << 14) | (dl >> 2)) & 0xFFFF
        dh = x
        x = al + (bl << 5) + (bh >> 11) + ((cl & dl) | (el & (cl | dl))) + 0xBCDC + wl[t + 4]
        ah = (ah + (bh << 5) + ((ch & dh) | (eh & (ch | dh))) + 0x8F1B + wh[t + 4] + (x >> 16)) & 0xFFFF
        al = x & 0xFFFF
        x = ((cl << 14) | (ch >> 2)) & 0xFFFF
        cl = ((ch << 14) | (cl >> 2)) & 0xFFFF
        ch = x
    for t in range(60, 80, 5):
        x = el + (al << 5) + (ah >> 11) + (bl ^ cl ^ dl) + 0xC1D6 + wl[t]
        eh = (eh + (ah << 5) + (bh ^ ch ^ dh) + 0xCA62 + wh[t] + (x >> 16)) & 0xFFFF
        el = x & 0xFFFF
        x = ((bl << 14) | (bh >> 2)) & 0xFFFF
        bl = ((bh << 14) | (bl >> 2)) & 0xFFFF
        bh = x
        x = dl + (el << 5) + (eh >> 11) + (al ^ bl ^ cl) + 0xC1D6 + wl[t + 1]
        dh = (dh + (eh << 5) + (ah ^ bh ^ ch) + 0xCA62 + wh[t + 1] + (x >> 16)) & 0xFFFF
        dl = x & 0xFFFF
        x = ((al << 14) | (ah >> 2)) & 0xFFFF
        al = ((ah << 14) | (al >> 2)) & 0xFFFF
        ah = x
        x = cl + (dl << 5) + (dh >> 11) + (el ^ al ^ bl) + 0xC1D6 + wl[t + 2]
        ch = (ch + (dh << 5) + (eh ^ ah ^ bh) + 0xCA62 + wh[t + 2] + (x >> 16)) & 0xFFFF
        cl = x & 0xFFFF
        x = ((el << 14) | (eh >> 2)) & 0xFFFF
        el = ((eh << 14) | (el >> 2)) & 0xFFFF
        eh = x
        x = bl + (cl << 5) + (ch >> 11) + (dl ^ el ^ al) + 0xC1D6 + wl[t + 3]
        bh = (bh + (ch << 5) + (dh ^ eh ^ ah) + 0xCA62 + wh[t + 3] + (x >> 16)) & 0xFFFF
        bl = x & 0xFFFF
        x = ((dl << 14) | (dh >> 2)) & 0xFFFF
        dl = ((dh << 14) | (dl >> 2)) & 0xFFFF
        dh = x
        x = al + (bl << 5) + (bh >> 11) + (cl ^ dl ^ el) + 0xC1D6 + wl[t + 4]
        ah = (ah + (bh << 5) + (ch ^ dh ^ eh) + 0xCA62 + wh[t + 4] + (x >> 16)) & 0xFFFF
        al = x & 0xFFFF
        x = ((cl << 14) | (ch >> 2)) & 0xFFFF
        cl = ((ch << 14) | (cl >> 2)) & 0xFFFF
        ch = x
    x = state[1] + al
    state[0] = (state[0] + ah + (x >> 16)) & 0xFFFF
    state[1] = x & 0xFFFF
    x = state[3] + bl
    state[2] = (state[2] + bh + (x >> 16)) & 0xFFFF
    state[3] = x & 0xFFFF
    x = state[5] + cl
    state[4] = (state[4] + ch + (x >> 16)) & 0xFFFF
    state[5] = x & 0xFFFF
    x = state[7] + dl
    state[6] = (state[6] + dh + (x >> 16)) & 0xFFFF
    state[7] = x & 0xFFFF
    x = state[9] + el
    state[8] = (state[8] + eh + (x >> 16)) & 0xFFFF
    state[9] = x & 0xFFFF
