# Writing label strips (fob/labels.py reads and draws them). Imported by fob/provision.py
# for a request that carries strips, and after a change that may leave a strip unused.
#
# A request's "strips" is a list of {"text", "data" (base64), "at", "size"}. add and
# rename carry whole strips for their own fields: held in RAM, drawn by their question,
# written at the holder's yes before the vault. add_many parts write theirs at once (the
# strips of 200 accounts would not fit in RAM), a long one in pieces ("at": where the
# piece goes in the strip, "size": the whole strip's bytes). Every strip is checked: its
# text is not printable ASCII, it is at most labels.WIDTH_MAX columns and lights something
# on its upper page; a column lit top to bottom loses its top pixel (only the bar between
# issuer and name is lit so).
#
# The strip of a text an account has is never written over: another strip for that text
# is dropped, so the question shows the stored one, which the fob goes on drawing. After a
# change, the files of texts no account has any more are removed.
import os

from fob import font, labels
from fob.args import bad
from fob.vault import VaultError, crc32, join
from fob.wire import run_steps

# Strip pieces written without a yes since power-up: a program that stages batches and
# never has one committed could otherwise wear the flash out.
UNPRESSED_MAX = 1024
written = 0
# The staged batch (fob/provision.py's list) whose parts wrote strips, and the keys of
# their texts, until its yes or until the strips no account uses are removed.
batch = None
_LIST_MAX = 64


def key(b):
    return crc32(b) & 0x3FFFFFFF


def parse(req):
    """The request's strips as (text, at, size, bytes), each checked; () without any."""
    items = req.get("strips")
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > _LIST_MAX:
        raise bad("strips must be a list of at most %d" % _LIST_MAX)
    from binascii import a2b_base64

    out = []
    for i, it in enumerate(items):
        where = "strips[%d]: " % i
        text = it.get("text") if isinstance(it, dict) else None
        if not isinstance(text, str) or not text or font.plain(text) or \
                len(text.encode()) > 64:
            raise bad(where + "text must be an issuer or name that is not plain ASCII")
        data = it.get("data")
        try:
            raw = a2b_base64(data.encode())
        except Exception:
            raise bad(where + "data must be base64 text") from None
        at = it.get("at", 0)
        size = it.get("size", len(raw))
        if not (isinstance(at, int) and isinstance(size, int)) or at < 0 or \
                at + len(raw) > size or size & 1 or not 2 <= size <= 2 * labels.WIDTH_MAX:
            raise bad(where + "a strip is an even number of bytes, at most %d, and its "
                      "pieces (at, data) lie inside its size" % (2 * labels.WIDTH_MAX))
        out.append((text, at, size, raw))
    return out


def finish(strip, text):
    """The strip as stored: no column lit top to bottom; refused unless its upper page
    has something lit."""
    w = len(strip) >> 1
    s = bytearray(strip)
    ink = 0
    for c in range(w):
        ink |= s[c]
        if s[c] == 0xFF and s[w + c] == 0xFF:
            s[c] = 0xFE
    if not ink:
        raise bad("the strip for %s lights nothing on its upper half (such a label is "
                  "drawn from its text)" % text)
    return s


# Accounts looked at, or files removed, per step of a long change (fob/wire.py's WORK).
_STEP = 20


def used(vault):
    """Keys of the texts the vault's accounts have (only those with a strip)."""
    return run_steps(_used_steps(vault))


def _used_steps(vault):
    out = set()
    n = 0
    for acc in vault.accounts:
        for t in (acc.issuer, acc.name):
            if t and not font.plain(t):
                out.add(key(t.encode()))
        n += 1
        if n % _STEP == 0:
            yield
    return out


def kept(vault, text, now):
    """True when ``text`` has a stored strip an account uses (it stays as it is); ``now``
    is a one-item list caching used()."""
    if labels.load(vault, text) is None:
        return False
    if now[0] is None:
        now[0] = used(vault)
    return key(text.encode()) in now[0]


def request(p, req, texts):
    """For add and rename: the request's strips ({text: strip}), or None."""
    return whole(p.vault, parse(req), texts) or None


def hold(prompt, strips):
    # The question drawn with this very prompt shows these strips (fob/labels.py); one
    # without strips leaves none of an earlier question's in RAM.
    labels.held = (prompt, strips) if strips else None


def settle(p):
    """The strips a dropped batch wrote that no account uses go (not while a question
    waits: it may be the batch's own last part, whose yes makes them the accounts')."""
    global batch
    b = batch
    if b is not None and b[0] is not p.stage and p.question is None:
        batch = None
        drop(p.vault, b[1])


def pieces(p, st, req):
    """Writes the strips an add_many part brings, for its batch ``st``."""
    global batch
    if batch is None or batch[0] is not st:
        batch = [st, []]
    now = [None]
    for item in parse(req):
        try:
            piece(p.vault, item, batch[1], now)
        except OSError:
            raise VaultError("io", "writing a label strip to flash failed; nothing was "
                             "stored") from None


def committed_steps(vault, st, gone):
    """After a batch's yes, in steps: its strips are its accounts' now; those no account
    has go, with those of the accounts it replaced (``gone``, their keys)."""
    global batch, written
    written = 0
    keys = list(gone)
    if batch is not None and batch[0] is st:
        keys += batch[1]
        batch = None
    yield from drop_steps(vault, keys)


def whole(vault, items, texts):
    """For add and rename: {text: strip} of the request's strips, each for one of
    ``texts`` and sent whole; strips of texts whose stored strip stays are left out."""
    out = {}
    now = [None]
    for text, at, size, raw in items:
        if text not in texts:
            raise bad("strips: %s is not a field of this request" % text)
        if at or size != len(raw):
            raise bad("strips: send the strip of %s whole here (add_many takes pieces)"
                      % text)
        if not kept(vault, text, now):
            out[text] = finish(raw, text)
    return out


def _fs(vault, name, path):
    # Folders and removal through the vault's file layer where it has them (a test's
    # flash in memory), else the filesystem's.
    f = getattr(vault.fs, name, None)
    return f(path) if f is not None else getattr(os, name)(path)


def _open(vault, b, mode):
    if "w" in mode:
        try:
            _fs(vault, "mkdir", join(vault.root, labels.DIR))
        except OSError:
            pass
    return vault.fs.open(labels.path(vault.root, b), mode)


def _head(b, size):
    return bytes((0x4C, 1, len(b))) + b + bytes((size & 0xFF, size >> 8))


def write(vault, b, strip):
    """The file of text ``b`` (UTF-8) with a finished strip, written whole."""
    head = _head(b, len(strip))
    crc = crc32(strip, crc32(head))
    f = _open(vault, b, "wb")
    try:
        f.write(head + strip + crc.to_bytes(4, "little"))
    finally:
        f.close()


def put(vault, strips):
    """Writes held strips ({text: strip}) at the holder's yes, before the vault changes
    (a cut between leaves strips no account uses)."""
    try:
        for text in strips:
            write(vault, text.encode(), strips[text])
        vault.fs.sync()
    except OSError:
        raise VaultError("io", "writing a label strip to flash failed; nothing was "
                         "changed") from None


def piece(vault, item, keys, now):
    """Writes one piece of a batch's strip; ``keys`` gathers the texts it wrote."""
    global written
    text, at, size, raw = item
    if at == 0 and kept(vault, text, now):
        return
    b = text.encode()
    path = labels.path(vault.root, b)
    start = labels.HEAD + len(b)
    if at:
        have = (vault.fs.size(path) or 0) - start
        if have != at:
            if labels.load(vault, text) is not None:
                return  # its first piece was dropped: the stored strip stays
            raise bad("strips: the piece of %s at %d does not follow the %d bytes sent"
                      % (text, at, max(have, 0)))
    if written >= UNPRESSED_MAX:
        raise VaultError("busy", "%d label pieces sent without a yes since the fob was "
                         "plugged in; unplug it and plug it in again for more"
                         % UNPRESSED_MAX)
    written += 1
    if at == 0:
        k = key(b)
        if k not in keys:
            keys.append(k)
        if len(raw) < size:
            f = _open(vault, b, "wb")
            try:
                f.write(_head(b, size) + raw)
            finally:
                f.close()
            return
    else:
        # The pieces so far, and this one after them: the file written again whole (no
        # append, which not every file layer has).
        f = vault.fs.open(path, "rb")
        try:
            have = f.read(start + at)
        finally:
            f.close()
        f = _open(vault, b, "wb")
        try:
            f.write(have + raw)
        finally:
            f.close()
        if at + len(raw) < size:
            return
        raw = have[start:] + raw
    write(vault, b, finish(raw, text))


def drop(vault, keys):
    """Removes the files of ``keys`` (texts' keys) that no account uses."""
    run_steps(drop_steps(vault, keys))


def drop_steps(vault, keys):
    if not keys:
        return
    now = yield from _used_steps(vault)
    n = 0
    for k in keys:
        if k not in now:
            try:
                _fs(vault, "remove", join(join(vault.root, labels.DIR), "%08x" % k))
            except OSError:
                pass
            n += 1
            if n % _STEP == 0:
                yield


def keys_of(accs):
    """Keys of the texts of ``accs`` that may have a strip."""
    out = []
    for acc in accs:
        for t in (acc.issuer, acc.name):
            if t and not font.plain(t):
                out.append(key(t.encode()))
    return out


def wipe(vault):
    """Every strip file goes (a reset)."""
    run_steps(wipe_steps(vault))


def wipe_steps(vault):
    d = join(vault.root, labels.DIR)
    try:
        names = _fs(vault, "listdir", d)
    except OSError:
        return
    k = 0
    for n in names:
        try:
            _fs(vault, "remove", join(d, n))
        except OSError:
            pass
        k += 1
        if k % _STEP == 0:
            yield
