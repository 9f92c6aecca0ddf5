# The protocol's commands that change the accounts the fob stores: add, add_many (with
# staged batches), abort, delete, rename, move, reset (the clock's are in fob/clockset.py,
# the settings' in fob/prefs.py). A fob is provisioned now and then and shows codes every day,
# so these live apart from fob/protocol.py: fob/policy.py imports this module at the first
# such request and keeps it from then on. A handler checks the request and changes
# nothing: a change goes back to fob/policy.py as (ACT, what, done, needs), and the
# *_prompt function the policy table names words it.

from fob import base32
from fob.args import bad as _bad
from fob.args import get_bool as _get_bool
from fob.args import get_int as _get_int
from fob.args import get_str as _get_str
from fob.commands import entry as _entry
from fob.font import plain
from fob.vault import (ALGORITHMS, CAPACITY, PERIOD_MAX, SECRET_MAX, SECRET_MIN, Account, Batch,
                       BATCH_MAX, VaultError, key_hash, record_size)
from fob.wire import ACT, NEED_PRESS, WORK
from fob.wire import monotonic as _monotonic

from micropython import const

_SECRET_TEXT_MAX = const(512)
_COUNTER_MAX = 0xFFFFFFFF  # the counters file keeps 32 bits
_SECRET_WEAK = const(10)
_PART_MAX = const(9999)
# A staged batch whose host went quiet this long (seconds) is dropped.
_STAGE_TIMEOUT = const(30)
# The batch token a host picks at part 0 and repeats in every later part (hex digits).
_TOKEN_MIN = const(16)
_TOKEN_MAX = const(64)
# Slots of a staged batch (Protocol.stage, a list: cheaper than an object).
_S_AT = const(0)         # monotonic() of the last part
_S_LINKED = const(1)     # the port said "connected" at the last part
_S_ACCOUNTS = const(2)   # the accounts, in request order (a vault.Batch: packed records)
_S_PARTS = const(3)      # parts staged so far: the next one must carry this number
_S_OVERWRITE = const(4)
_S_HASHES = const(5)     # the staged keys' hashes, in order (vault_edit.KeyHashes)
_S_NEW = const(6)        # how many are not yet in the vault
_S_BYTES = const(7)      # vault bytes the batch adds
_S_TOKEN = const(8)      # the sender's batch token: only it can add parts
_S_CHECK = const(9)      # the check value's chain so far (fob/check.py)
_S_COUNTERS = const(10)  # HOTP counters: (position in the batch, counter) pairs
_S_VAULT = const(11)     # [vault generation, the vault's key hashes] or None
_S_SIZE = const(12)


def _leaks(message, text):
    # A decoder message quoting a run of the offending input would hand part of a secret
    # back; any 4 characters of it in a row is treated as a quote.
    clean = text.replace(" ", "").upper()
    msg = message.upper()
    for i in range(len(clean) - 3):
        if clean[i:i + 4] in msg:
            return True
    return False


def _secret(req):
    text = req.get("secret")
    if not isinstance(text, str):
        raise VaultError("bad_secret", "secret must be base32 text")
    if len(text) > _SECRET_TEXT_MAX:
        raise VaultError("bad_secret", "secret is too long (at most %d bytes)" % SECRET_MAX)
    try:
        key = base32.decode(text)
    except MemoryError:
        raise
    except Exception as e:  # the decoder's ValueError, or anything odd it may raise
        why = str(e) if isinstance(e, ValueError) else ""
        if not why or len(why) > 100 or _leaks(why, text):
            why = "not valid base32"
        raise VaultError("bad_secret", "secret: " + why) from None
    n = len(key)
    if n < SECRET_MIN or n > SECRET_MAX:
        raise VaultError("bad_secret", "secret is %d bytes once decoded (must be %d to %d)"
                         % (n, SECRET_MIN, SECRET_MAX))
    return key


def _account(req, created):
    """Build an Account from request arguments; returns (account, warning or None, the
    HOTP counter or None)."""
    if not isinstance(req, dict):
        raise _bad("must be an object")
    name = _get_str(req, "name", "")
    issuer = _get_str(req, "issuer", "")
    alg = _get_str(req, "algorithm", "SHA1").upper()
    if alg not in ALGORITHMS:
        raise _bad("algorithm must be one of " + ", ".join(ALGORITHMS))
    kind = _get_str(req, "type", "totp")
    if kind not in ("totp", "hotp"):
        raise _bad("type must be totp or hotp")
    counter = None
    if kind == "hotp":
        if alg == "STEAM":
            raise _bad("Steam codes are time-based, never HOTP")
        counter = _get_int(req, "counter", 0, 0, _COUNTER_MAX)
    if alg == "STEAM":
        digits = _get_int(req, "digits", 5, 5, 5)
    else:
        digits = _get_int(req, "digits", 6, 6, 8)
    period = _get_int(req, "period", 30, 1, PERIOD_MAX)
    key = _secret(req)
    warning = None
    if len(key) < _SECRET_WEAK:
        warning = "secret is only %d bits; RFC 4226 asks for at least 128" % (len(key) * 8)
    return Account(name, issuer, key, alg, digits, period, created, counter is not None), \
        warning, counter


def _find(accounts, i, key):
    # `i` is where key's hash points (or None); a hash collision is settled by a scan.
    if i is None:
        return None
    if accounts[i].key() == key:
        return i
    for i, a in enumerate(accounts):
        if a.key() == key:
            return i
    return None


def _code(p, acc):
    # The new account's code at the fob's time, so the host checks the add from its own
    # reply (no code request, which would need another press). None for an HOTP account:
    # its next code is the holder's, shown at a press.
    if acc.hotp:
        return {}
    t = p.now()
    if t is None:
        return {"code": None, "time": None, "code_error": "clock_not_set"}
    from fob import otp

    return {"code": otp.totp(acc.secret, t, digits=acc.digits, period=acc.period,
                             algorithm=acc.algorithm.lower()), "time": t}


def _save_counters(v, pairs):
    # Before the vault write: a power cut between the two leaves a counter for an account
    # that is not there yet (dropped at the next save), never an account without one.
    if pairs:
        from fob.counters import hotp_ids, ident

        keep = hotp_ids(v)
        for acc, _ in pairs:
            keep.add(ident(acc))
        v.counters().save(pairs, keep)


def add(p, req):
    overwrite = _get_bool(req, "overwrite")
    acc, warning, counter = _account(req, p.now() or 0)
    v = p.vault
    i = v.find(acc.issuer, acc.name)
    # What would fail is refused before anybody is asked to press for it.
    if i is not None and not overwrite:
        raise VaultError("duplicate", "an account for %s already exists" % acc.label())
    if i is None and len(v.accounts) >= CAPACITY:
        raise VaultError("full", "the vault is full (%d accounts)" % CAPACITY)
    ls = _labels(p, req)
    strips = ls.request(p, req, (acc.issuer, acc.name)) if ls else None
    gone = _keys(v.accounts[i]) if i is not None else ()

    def done(pressed):
        return WORK, work()

    def work():
        # A step a loop pass (fob/wire.py's WORK): the vault write is a whole slot.
        old = len(v.accounts)
        if counter is not None:
            _save_counters(v, ((acc, counter),))
        if strips:
            ls.put(v, strips)
        index = yield from v.steps("add", acc, overwrite)
        yield from _drop(v, gone)
        # A new account goes at the end; a replaced one keeps its place.
        out = {"index": index, "replaced": index < old}
        out.update(_code(p, acc))
        if warning:
            out["warning"] = warning
        return out

    # A replace always asks; an add unless adds need no press (fob/guard.py).
    needs = NEED_PRESS if i is not None or p.guard.add_presence else 0
    return ACT, (i, acc, counter, strips), done, needs


def add_prompt(p, what):
    i, acc, counter, strips = what
    from fob import check

    return _hold("%s\n%s\nCheck: %s" % (_add_title(i), _entry(acc),
                                         check.text(check.of(check.start(), acc, counter))),
                 strips)


# Label strips (fob/label_store.py), loaded only for a request that brings some, or once
# there are some to look after.
def _labels(p, req=None):
    from sys import modules

    if req is not None and "strips" in req:
        from fob import label_store  # noqa: F401 - loaded, then found in modules
    ls = modules.get("fob.label_store")
    if ls is not None and p is not None:
        ls.settle(p)
    return ls


def _keys(acc):
    # The keys of an account's texts that may have strips.
    if plain(acc.issuer) and plain(acc.name):
        return ()
    from fob import label_store

    return label_store.keys_of((acc,))


def _drop(v, keys):
    # Steps: the strips of texts no account has any more go.
    if keys:
        from fob import label_store  # noqa: F401 - loaded, then found in modules

        yield from label_store.drop_steps(v, keys)


def _hold(prompt, strips):
    ls = _labels(None)
    if ls is not None:
        ls.hold(prompt, strips)
    return prompt


def _add_title(i):
    return "Add account?" if i is None else "Replace #%d?" % (i + 1)


def expire(p, linked):
    """Drops the staged batch once its host went quiet or left (fob/protocol.py)."""
    st = p.stage
    if _monotonic() - st[_S_AT] > _STAGE_TIMEOUT or (st[_S_LINKED] and not linked):
        p.stage = None
        _labels(p)


def _token(req):
    t = _get_str(req, "batch")
    if not _TOKEN_MIN <= len(t) <= _TOKEN_MAX or t.strip("0123456789abcdefABCDEF"):
        raise _bad("batch must be %d to %d hex digits" % (_TOKEN_MIN, _TOKEN_MAX))
    return t


def add_many(p, req):
    ls = _labels(p, req)
    st = None
    part = 0
    staged = "part" in req or req.get("stage", False) is not False
    if staged:
        token = _token(req)
        part = _get_int(req, "part", None, 0, _PART_MAX)
        st = p.stage
        if st is not None and st[_S_TOKEN] != token:
            # Another sender's batch is held: it stays as it was, for its own sender.
            if part == 0:
                raise VaultError("busy", "another program is importing; try again when it "
                                 "is done (its batch is dropped 30 s after its last part)")
            st = None
        if part and st is None:
            raise VaultError("no_batch", "part %d does not continue a staged batch of "
                             "this sender (it was aborted, timed out or broken off); "
                             "nothing was stored" % part)
        # Taken out for the whole request: a part that fails drops its batch, so no
        # later part can complete a batch with a hole in it.
        p.stage = None
    overwrite = _get_bool(req, "overwrite")
    stage = _get_bool(req, "stage")
    items = req.get("accounts")
    if not isinstance(items, list):
        raise _bad("accounts must be a list")
    if len(items) > CAPACITY:
        raise VaultError("full", "at most %d accounts fit" % CAPACITY)
    if part == 0:
        from fob import check
        from fob.vault_edit import KeyHashes

        # 4 bytes an account, not a dict from hash to position (about 9), at the moment
        # the heap holds the most (the whole batch staged); made whole now, while the heap
        # holds little: grown an account at a time, between the blocks each part leaves,
        # it cut the heap of CircuitPython 9.2.8 into holes too small for the batch's next
        # chunk.
        st = [None] * _S_SIZE
        st[_S_AT] = 0
        st[_S_LINKED] = False
        st[_S_ACCOUNTS] = Batch()
        st[_S_PARTS] = 0
        st[_S_OVERWRITE] = overwrite
        st[_S_HASHES] = KeyHashes(BATCH_MAX)
        st[_S_NEW] = 0
        st[_S_BYTES] = 0
        st[_S_TOKEN] = token if staged else None
        st[_S_CHECK] = check.start()
        st[_S_COUNTERS] = []
        st[_S_VAULT] = None
    elif st[_S_PARTS] != part:
        raise VaultError("no_batch", "part %d does not continue the staged batch (part %d "
                         "comes next); nothing was stored" % (part, st[_S_PARTS]))
    elif st[_S_OVERWRITE] != overwrite:
        raise _bad("overwrite must be the same in every part of a batch")
    warnings = _stage_items(p, st, items)
    if "strips" in req:
        ls.pieces(p, st, req)
    if stage:
        st[_S_PARTS] = part + 1
        st[_S_AT] = _monotonic()
        st[_S_LINKED] = p.linked()
        p.stage = st
        out = {"staged": len(st[_S_ACCOUNTS]), "part": part}
        if warnings:
            out["warnings"] = warnings
        return out
    accounts = st[_S_ACCOUNTS]
    # Counted now, against the vault as it is at the commit (nothing else changes it
    # while the holder is asked): an account renamed since a part was staged is
    # replaced, and the prompt says so.
    v = p.vault
    keys = _vault_keys(st, v)
    existing = v.accounts
    replace = 0
    first = None
    gone = []  # the keys of the replaced accounts' texts that may have strips
    for acc in accounts:
        j = _find(existing, keys.get(key_hash(acc.key())), acc.key())
        if j is not None:
            replace += 1
            if first is None:
                first = j
            gone.extend(_keys(existing[j]))
    if replace and not overwrite:
        raise VaultError("duplicate", "an account for %s already exists; nothing was "
                         "stored" % existing[first].label())

    def done(pressed):
        return WORK, work()

    def work():
        # A step a loop pass (fob/wire.py's WORK): 200 accounts are placed and written
        # over many passes while the fob goes on ticking.
        old = len(p.vault.accounts)
        _save_counters(p.vault, [(accounts[j], c) for j, c in st[_S_COUNTERS]])
        indexes = yield from p.vault.steps("add_many", accounts, overwrite)
        ls = _labels(None)
        if ls is not None:
            yield from ls.committed_steps(p.vault, st, gone)
        replaced = 0
        for i in indexes:
            if i < old:
                replaced += 1
        out = {"added": len(indexes) - replaced, "replaced": replaced, "indexes": indexes}
        if warnings:
            out["warnings"] = warnings
        return out

    needs = NEED_PRESS if replace or (len(accounts) and p.guard.add_presence) else 0
    return ACT, (accounts, replace, first, st[_S_CHECK]), done, needs


def add_many_prompt(p, what):
    accounts, replace, first, h = what
    from fob import check

    n = len(accounts)
    if n == 1:
        title = _add_title(first) + "\n" + _entry(accounts[0])
    elif replace == n:
        title = "Replace %d accounts?" % n
    elif replace:
        title = "Add %d, replace %d?" % (n - replace, replace)
    else:
        title = "Add %d accounts?" % n
    return title + "\nCheck: " + check.text(h)


def _vault_keys(st, v):
    # The vault's key hashes for the batch `st`, made once (again if the vault changed
    # meanwhile): a lookup per element instead of a scan, and no table made anew at every
    # part, which was kilobytes more in RAM while the part's line was parsed.
    vk = st[_S_VAULT]
    if vk is None or vk[0] != v.generation:
        from fob.vault_edit import KeyHashes

        keys = KeyHashes()
        for i, a in enumerate(v.accounts):
            keys[key_hash(a.key())] = i
        vk = st[_S_VAULT] = [v.generation, keys]
    return vk[1]


def _stage_items(p, st, items):
    # Checks `items` against the vault and the batch so far and appends them to the
    # batch (and to its check value); returns the warnings. Element numbers count from
    # the start of the batch.
    from fob import check

    v = p.vault
    accounts = v.accounts
    free = v.bytes_free
    created = p.now() or 0
    staged = st[_S_ACCOUNTS]
    hashes = st[_S_HASHES]
    vkeys = _vault_keys(st, v)
    warnings = []
    for item in items:
        prefix = "accounts[%d]: " % len(staged)
        try:
            acc, warning, counter = _account(item, created)
            key = acc.key()
            h = key_hash(key)
            if _find(staged, hashes.get(h), key) is not None:
                raise VaultError("duplicate", "the same account appears twice: "
                                 + acc.label())
            if len(staged) >= BATCH_MAX:
                raise VaultError("full", "a batch has room for at most %d accounts; send the rest "
                                 "in another batch" % BATCH_MAX)
            i = _find(accounts, vkeys.get(h), key)
            size = record_size(acc)
            if i is None:
                st[_S_NEW] += 1
                if len(accounts) + st[_S_NEW] > CAPACITY:
                    raise VaultError("full", "the vault is full (%d accounts)" % CAPACITY)
            elif not st[_S_OVERWRITE]:
                raise VaultError("duplicate", "an account for %s already exists"
                                 % acc.label())
            else:
                size -= record_size(accounts[i])
            st[_S_BYTES] += size
            if st[_S_BYTES] > free:
                raise VaultError("full", "the vault is full (%d bytes free, %d needed)"
                                 % (free, st[_S_BYTES]))
        except VaultError as e:
            raise VaultError(e.code, prefix + e.message) from None
        hashes[h] = len(staged)
        if counter is not None:
            st[_S_COUNTERS].append((len(staged), counter))
        staged.append(acc)
        st[_S_CHECK] = check.of(st[_S_CHECK], acc, counter)
        if warning:
            warnings.append(prefix + warning)
    return warnings


def staged(p):
    """How many accounts the staged batch holds (0 when there is none)."""
    return len(p.stage[_S_ACCOUNTS]) if p.stage is not None else 0


def abort(p, req):
    # Only the sender's own batch (its token), so no other program can break an import.
    st = p.stage
    if st is None or st[_S_TOKEN] != _token(req):
        _labels(p)
        return {"dropped": 0}
    n = staged(p)
    p.stage = None
    _labels(p)
    return {"dropped": n}


def delete(p, req):
    v = p.vault
    if "index" in req:
        if "name" in req or "issuer" in req:
            raise _bad("give index, or issuer and name, not both")
        i = _get_int(req, "index")
    elif "name" in req:
        issuer = _get_str(req, "issuer", "")
        name = _get_str(req, "name")
        i = v.find(issuer, name)
        if i is None:
            raise VaultError("not_found", "no account for %s / %s" % (issuer, name))
    else:
        raise _bad("give index, or issuer and name")
    if not 0 <= i < len(v.accounts):
        raise VaultError("not_found", "no account at index %d (there are %d)"
                         % (i, len(v.accounts)))

    def work():
        gone = yield from v.steps("delete", i)
        yield from _drop(v, _keys(gone))
        return {"deleted": {"index": i, "issuer": gone.issuer, "name": gone.name}}

    return ACT, i, lambda pressed: (WORK, work()), NEED_PRESS


def delete_prompt(p, i):
    return "Delete #%d?\n%s" % (i + 1, _entry(p.vault.accounts[i]))


def _index(v, i, what="index"):
    n = len(v.accounts)
    if not 0 <= i < n:
        raise VaultError("not_found", "no account at %s %d (there are %d)" % (what, i, n))
    return i


def rename(p, req):
    v = p.vault
    i = _get_int(req, "index")
    name = _get_str(req, "name")
    issuer = req.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise _bad("issuer must be a string")
    old = v.accounts[_index(v, i)]
    if issuer is None:
        issuer = old.issuer
    # Built (and so checked) now: what would fail is refused before anybody is asked.
    new = Account(name, issuer, old.secret, old.algorithm, old.digits, old.period,
                  old.created, old.hotp)
    j = v.find(issuer, name)
    if j is not None and j != i:
        raise VaultError("duplicate", "an account for %s already exists" % new.label())
    if name == old.name and issuer == old.issuer:
        return {"index": i, "issuer": issuer, "name": name}
    ls = _labels(p, req)
    strips = ls.request(p, req, (issuer, name)) if ls else None
    gone = _keys(old)

    def work():
        if strips:
            ls.put(v, strips)
        acc = yield from v.steps("rename", i, name, issuer)
        yield from _drop(v, gone)
        return {"index": i, "issuer": acc.issuer, "name": acc.name}

    return ACT, (i, new, strips), lambda pressed: (WORK, work()), NEED_PRESS


def rename_prompt(p, what):
    i, new, strips = what
    return _hold("Rename #%d?\n%s\n%s" % (i + 1, _entry(p.vault.accounts[i]),
                                           _entry(new, "New ")), strips)


def move(p, req):
    v = p.vault
    i = _index(v, _get_int(req, "index"))
    j = _index(v, _get_int(req, "to"), "position")
    if i == j:
        return {"index": j}
    def work():
        return {"index": (yield from v.steps("move", i, j))}

    return ACT, (i, j), lambda pressed: (WORK, work()), NEED_PRESS


def move_prompt(p, what):
    i, j = what
    return "Move #%d to place %d?\n%s" % (i + 1, j + 1, _entry(p.vault.accounts[i]))


def reset(p, req):
    if req.get("confirm") is not True:
        raise _bad("reset erases every account; send confirm: true")

    def work():
        p.logout()
        p.stage = None
        yield from p.guard.erase_steps(p.vault)
        return {"accounts": 0, "password": False}

    return ACT, None, lambda pressed: (WORK, work()), NEED_PRESS
