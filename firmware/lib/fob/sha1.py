# Pure-Python SHA-1 compression (FIPS 180-4) for boards without a native sha1.
# Each 32-bit word is held as two 16-bit halves (hi, lo): on a 32-bit MicroPython or
# CircuitPython build an int at or above 2**30 is a heap-allocated big int, so every
# intermediate here stays below 2**30.  The state is a flat list of 16-bit limbs,
# big-endian (h0 hi, h0 lo, h1 hi, ...), which is also the digest's byte order.
# The module must compile on the board in a small heap next to the rest of the firmware
# (a source deploy compiles it there), which bounds how far it can be unrolled: writing
# out all 80 rounds over locals runs a quarter faster but needs about 100 KB more heap to
# compile and 9 KB more bytecode; unrolling only the schedule's 16-step pattern gains
# about a tenth for about 14 KB.  A 64-bit port uses sha1_wide instead (see fob.hmac).

BLOCK_SIZE = 64
DIGEST_SIZE = 20
IV = (0x6745, 0x2301, 0xEFCD, 0xAB89, 0x98BA, 0xDCFE, 0x1032, 0x5476, 0xC3D2, 0xE1F0)

# The message schedule, allocated once: the compression allocates nothing.
_WH = [0] * 80
_WL = [0] * 80


def _schedule(block, off):
    # The 80 words of the message schedule into _WH/_WL.  The recurrence reads
    # w[t - 3], w[t - 8], w[t - 14] and w[t - 16]: the last 16 words are kept in locals
    # (h0..h15, l0..l15 hold w[t] for t = k mod 16) and sixteen steps are written out
    # per pass, so each step reads locals instead of computing list indices.  Apart from
    # the rounds so that neither function's bytecode needs one large contiguous block.
    wh = _WH
    wl = _WL
    M = 0xFFFF
    for t in range(16):
        wh[t] = (block[off] << 8) | block[off + 1]
        wl[t] = (block[off + 2] << 8) | block[off + 3]
        off += 4
    h0 = wh[0]
    l0 = wl[0]
    h1 = wh[1]
    l1 = wl[1]
    h2 = wh[2]
    l2 = wl[2]
    h3 = wh[3]
    l3 = wl[3]
    h4 = wh[4]
    l4 = wl[4]
    h5 = wh[5]
    l5 = wl[5]
    h6 = wh[6]
    l6 = wl[6]
    h7 = wh[7]
    l7 = wl[7]
    h8 = wh[8]
    l8 = wl[8]
    h9 = wh[9]
    l9 = wl[9]
    h10 = wh[10]
    l10 = wl[10]
    h11 = wh[11]
    l11 = wl[11]
    h12 = wh[12]
    l12 = wl[12]
    h13 = wh[13]
    l13 = wl[13]
    h14 = wh[14]
    l14 = wl[14]
    h15 = wh[15]
    l15 = wl[15]
    for t in range(16, 80, 16):
        x = h13 ^ h8 ^ h2 ^ h0
        y = l13 ^ l8 ^ l2 ^ l0
        h0 = wh[t] = ((x << 1) & M) | (y >> 15)
        l0 = wl[t] = ((y << 1) & M) | (x >> 15)
        x = h14 ^ h9 ^ h3 ^ h1
        y = l14 ^ l9 ^ l3 ^ l1
        h1 = wh[t + 1] = ((x << 1) & M) | (y >> 15)
        l1 = wl[t + 1] = ((y << 1) & M) | (x >> 15)
        x = h15 ^ h10 ^ h4 ^ h2
        y = l15 ^ l10 ^ l4 ^ l2
        h2 = wh[t + 2] = ((x << 1) & M) | (y >> 15)
        l2 = wl[t + 2] = ((y << 1) & M) | (x >> 15)
        x = h0 ^ h11 ^ h5 ^ h3
        y = l0 ^ l11 ^ l5 ^ l3
        h3 = wh[t + 3] = ((x << 1) & M) | (y >> 15)
        l3 = wl[t + 3] = ((y << 1) & M) | (x >> 15)
        x = h1 ^ h12 ^ h6 ^ h4
        y = l1 ^ l12 ^ l6 ^ l4
        h4 = wh[t + 4] = ((x << 1) & M) | (y >> 15)
        l4 = wl[t + 4] = ((y << 1) & M) | (x >> 15)
        x = h2 ^ h13 ^ h7 ^ h5
        y = l2 ^ l13 ^ l7 ^ l5
        h5 = wh[t + 5] = ((x << 1) & M) | (y >> 15)
        l5 = wl[t + 5] = ((y << 1) & M) | (x >> 15)
        x = h3 ^ h14 ^ h8 ^ h6
        y = l3 ^ l14 ^ l8 ^ l6
        h6 = wh[t + 6] = ((x << 1) & M) | (y >> 15)
        l6 = wl[t + 6] = ((y << 1) & M) | (x >> 15)
        x = h4 ^ h15 ^ h9 ^ h7
        y = l4 ^ l15 ^ l9 ^ l7
        h7 = wh[t + 7] = ((x << 1) & M) | (y >> 15)
        l7 = wl[t + 7] = ((y << 1) & M) | (x >> 15)
        x = h5 ^ h0 ^ h10 ^ h8
        y = l5 ^ l0 ^ l10 ^ l8
        h8 = wh[t + 8] = ((x << 1) & M) | (y >> 15)
        l8 = wl[t + 8] = ((y << 1) & M) | (x >> 15)
        x = h6 ^ h1 ^ h11 ^ h9
        y = l6 ^ l1 ^ l11 ^ l9
        h9 = wh[t + 9] = ((x << 1) & M) | (y >> 15)
        l9 = wl[t + 9] = ((y << 1) & M) | (x >> 15)
        x = h7 ^ h2 ^ h12 ^ h10
        y = l7 ^ l2 ^ l12 ^ l10
        h10 = wh[t + 10] = ((x << 1) & M) | (y >> 15)
        l10 = wl[t + 10] = ((y << 1) & M) | (x >> 15)
        x = h8 ^ h3 ^ h13 ^ h11
        y = l8 ^ l3 ^ l13 ^ l11
        h11 = wh[t + 11] = ((x << 1) & M) | (y >> 15)
        l11 = wl[t + 11] = ((y << 1) & M) | (x >> 15)
        x = h9 ^ h4 ^ h14 ^ h12
        y = l9 ^ l4 ^ l14 ^ l12
        h12 = wh[t + 12] = ((x << 1) & M) | (y >> 15)
        l12 = wl[t + 12] = ((y << 1) & M) | (x >> 15)
        x = h10 ^ h5 ^ h15 ^ h13
        y = l10 ^ l5 ^ l15 ^ l13
        h13 = wh[t + 13] = ((x << 1) & M) | (y >> 15)
        l13 = wl[t + 13] = ((y << 1) & M) | (x >> 15)
        x = h11 ^ h6 ^ h0 ^ h14
        y = l11 ^ l6 ^ l0 ^ l14
        h14 = wh[t + 14] = ((x << 1) & M) | (y >> 15)
        l14 = wl[t + 14] = ((y << 1) & M) | (x >> 15)
        x = h12 ^ h7 ^ h1 ^ h15
        y = l12 ^ l7 ^ l1 ^ l15
        h15 = wh[t + 15] = ((x << 1) & M) | (y >> 15)
        l15 = wl[t + 15] = ((y << 1) & M) | (x >> 15)


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
    # Constants in locals: a local loads with a one-byte opcode, an int this size takes
    # a few bytes to decode every time.
    M = 0xFFFF
    kh = 0x5A82
    kl = 0x7999
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
        x = el + (al << 5) + (ah >> 11) + (dl ^ (bl & (cl ^ dl))) + kl + wl[t]
        eh = (eh + (ah << 5) + (dh ^ (bh & (ch ^ dh))) + kh + wh[t] + (x >> 16)) & M
        el = x & M
        bh, bl = ((bl & 3) << 14) | (bh >> 2), ((bh & 3) << 14) | (bl >> 2)
        x = dl + (el << 5) + (eh >> 11) + (cl ^ (al & (bl ^ cl))) + kl + wl[t + 1]
        dh = (dh + (eh << 5) + (ch ^ (ah & (bh ^ ch))) + kh + wh[t + 1] + (x >> 16)) & M
        dl = x & M
        ah, al = ((al & 3) << 14) | (ah >> 2), ((ah & 3) << 14) | (al >> 2)
        x = cl + (dl << 5) + (dh >> 11) + (bl ^ (el & (al ^ bl))) + kl + wl[t + 2]
        ch = (ch + (dh << 5) + (bh ^ (eh & (ah ^ bh))) + kh + wh[t + 2] + (x >> 16)) & M
        cl = x & M
        eh, el = ((el & 3) << 14) | (eh >> 2), ((eh & 3) << 14) | (el >> 2)
        x = bl + (cl << 5) + (ch >> 11) + (al ^ (dl & (el ^ al))) + kl + wl[t + 3]
        bh = (bh + (ch << 5) + (ah ^ (dh & (eh ^ ah))) + kh + wh[t + 3] + (x >> 16)) & M
        bl = x & M
        dh, dl = ((dl & 3) << 14) | (dh >> 2), ((dh & 3) << 14) | (dl >> 2)
        x = al + (bl << 5) + (bh >> 11) + (el ^ (cl & (dl ^ el))) + kl + wl[t + 4]
        ah = (ah + (bh << 5) + (eh ^ (ch & (dh ^ eh))) + kh + wh[t + 4] + (x >> 16)) & M
        al = x & M
        ch, cl = ((cl & 3) << 14) | (ch >> 2), ((ch & 3) << 14) | (cl >> 2)
    kh = 0x6ED9
    kl = 0xEBA1
    # Rounds 20-39, 40-59, 60-79: the type of round is chosen per 20 rounds, not per pass.
    for seg in (20, 40, 60):
        if seg == 40:
            kh = 0x8F1B
            kl = 0xBCDC
            for t in range(40, 60, 5):
                x = el + (al << 5) + (ah >> 11) + ((bl & cl) | (dl & (bl | cl))) + kl + wl[t]
                eh = (eh + (ah << 5) + ((bh & ch) | (dh & (bh | ch))) + kh + wh[t] + (x >> 16)) & M
                el = x & M
                bh, bl = ((bl & 3) << 14) | (bh >> 2), ((bh & 3) << 14) | (bl >> 2)
                x = dl + (el << 5) + (eh >> 11) + ((al & bl) | (cl & (al | bl))) + kl + wl[t + 1]
                dh = (dh + (eh << 5) + ((ah & bh) | (ch & (ah | bh))) + kh + wh[t + 1] + (x >> 16)) & M
                dl = x & M
                ah, al = ((al & 3) << 14) | (ah >> 2), ((ah & 3) << 14) | (al >> 2)
                x = cl + (dl << 5) + (dh >> 11) + ((el & al) | (bl & (el | al))) + kl + wl[t + 2]
                ch = (ch + (dh << 5) + ((eh & ah) | (bh & (eh | ah))) + kh + wh[t + 2] + (x >> 16)) & M
                cl = x & M
                eh, el = ((el & 3) << 14) | (eh >> 2), ((eh & 3) << 14) | (el >> 2)
                x = bl + (cl << 5) + (ch >> 11) + ((dl & el) | (al & (dl | el))) + kl + wl[t + 3]
                bh = (bh + (ch << 5) + ((dh & eh) | (ah & (dh | eh))) + kh + wh[t + 3] + (x >> 16)) & M
                bl = x & M
                dh, dl = ((dl & 3) << 14) | (dh >> 2), ((dh & 3) << 14) | (dl >> 2)
                x = al + (bl << 5) + (bh >> 11) + ((cl & dl) | (el & (cl | dl))) + kl + wl[t + 4]
                ah = (ah + (bh << 5) + ((ch & dh) | (eh & (ch | dh))) + kh + wh[t + 4] + (x >> 16)) & M
                al = x & M
                ch, cl = ((cl & 3) << 14) | (ch >> 2), ((ch & 3) << 14) | (cl >> 2)
            kh = 0xCA62
            kl = 0xC1D6
            continue
        for t in range(seg, seg + 20, 5):
            x = el + (al << 5) + (ah >> 11) + (bl ^ cl ^ dl) + kl + wl[t]
            eh = (eh + (ah << 5) + (bh ^ ch ^ dh) + kh + wh[t] + (x >> 16)) & M
            el = x & M
            bh, bl = ((bl & 3) << 14) | (bh >> 2), ((bh & 3) << 14) | (bl >> 2)
            x = dl + (el << 5) + (eh >> 11) + (al ^ bl ^ cl) + kl + wl[t + 1]
            dh = (dh + (eh << 5) + (ah ^ bh ^ ch) + kh + wh[t + 1] + (x >> 16)) & M
            dl = x & M
            ah, al = ((al & 3) << 14) | (ah >> 2), ((ah & 3) << 14) | (al >> 2)
            x = cl + (dl << 5) + (dh >> 11) + (el ^ al ^ bl) + kl + wl[t + 2]
            ch = (ch + (dh << 5) + (eh ^ ah ^ bh) + kh + wh[t + 2] + (x >> 16)) & M
            cl = x & M
            eh, el = ((el & 3) << 14) | (eh >> 2), ((eh & 3) << 14) | (el >> 2)
            x = bl + (cl << 5) + (ch >> 11) + (dl ^ el ^ al) + kl + wl[t + 3]
            bh = (bh + (ch << 5) + (dh ^ eh ^ ah) + kh + wh[t + 3] + (x >> 16)) & M
            bl = x & M
            dh, dl = ((dl & 3) << 14) | (dh >> 2), ((dh & 3) << 14) | (dl >> 2)
            x = al + (bl << 5) + (bh >> 11) + (cl ^ dl ^ el) + kl + wl[t + 4]
            ah = (ah + (bh << 5) + (ch ^ dh ^ eh) + kh + wh[t + 4] + (x >> 16)) & M
            al = x & M
            ch, cl = ((cl & 3) << 14) | (ch >> 2), ((ch & 3) << 14) | (cl >> 2)
    x = state[1] + al
    ah = (state[0] + ah + (x >> 16)) & 0xFFFF
    al = x & 0xFFFF
    x = state[3] + bl
    bh = (state[2] + bh + (x >> 16)) & 0xFFFF
    bl = x & 0xFFFF
    x = state[5] + cl
    ch = (state[4] + ch + (x >> 16)) & 0xFFFF
    cl = x & 0xFFFF
    x = state[7] + dl
    dh = (state[6] + dh + (x >> 16)) & 0xFFFF
    dl = x & 0xFFFF
    x = state[9] + el
    eh = (state[8] + eh + (x >> 16)) & 0xFFFF
    el = x & 0xFFFF
    if out is None:
        state[0] = ah
        state[1] = al
        state[2] = bh
        state[3] = bl
        state[4] = ch
        state[5] = cl
        state[6] = dh
        state[7] = dl
        state[8] = eh
        state[9] = el
        return
    # Straight into the digest bytes (an HMAC's inner digest lands in its outer block).
    out[0] = ah >> 8
    out[1] = ah & 0xFF
    out[2] = al >> 8
    out[3] = al & 0xFF
    out[4] = bh >> 8
    out[5] = bh & 0xFF
    out[6] = bl >> 8
    out[7] = bl & 0xFF
    out[8] = ch >> 8
    out[9] = ch & 0xFF
    out[10] = cl >> 8
    out[11] = cl & 0xFF
    out[12] = dh >> 8
    out[13] = dh & 0xFF
    out[14] = dl >> 8
    out[15] = dl & 0xFF
    out[16] = eh >> 8
    out[17] = eh & 0xFF
    out[18] = el >> 8
    out[19] = el & 0xFF
