"""vault.Batch: a staged import's accounts packed into shared chunks, and add_many writing
them from there (the vault's write streams records from where they are)."""

import pytest

from fob.vault import Account, Batch, Vault, VaultError


def accounts(n, salt=0):
    return [
        Account("user%d" % i, "Service%d" % i, bytes((i + j + salt) & 0xFF for j in range(20)))
        for i in range(n)
    ]


def test_a_batch_gives_back_every_account_it_was_given():
    accs = accounts(200)
    b = Batch()
    for a in accs:
        b.append(a)
    assert len(b) == 200
    assert list(b) == accs
    assert b[0] == accs[0] and b[-1] == accs[-1] and b[137] == accs[137]
    with pytest.raises(IndexError):
        b[200]
    # Packed: a few chunks, not an object per account, and none over 512 bytes (a
    # fragmented heap has holes that size); a chunk's unused tail is shorter than the
    # record that did not fit there.
    assert len(b.chunks) < len(accs) // 5 and b.size == sum(len(a.raw) for a in accs)
    assert max(len(c) for c in b.chunks) <= 512
    longest = max(len(a.raw) for a in accs)
    assert sum(len(c) for c in b.chunks) - b.size < len(b.chunks) * longest


def test_a_batch_takes_accounts_only():
    with pytest.raises(VaultError):
        Batch().append(b"not an account")


def test_add_many_of_a_batch_stores_what_a_list_stores_and_empties_the_batch(tmp_path):
    first = accounts(200)
    again = accounts(200, salt=7)  # same labels, new secrets
    by_list = Vault(str(tmp_path / "a"))
    (tmp_path / "a").mkdir()
    by_list.load()
    by_list.add_many(first)
    by_list.add_many(again, overwrite=True)
    by_batch = Vault(str(tmp_path / "b"))
    (tmp_path / "b").mkdir()
    by_batch.load()
    by_batch.add_many(first)
    b = Batch()
    for a in again:
        b.append(a)
    assert by_batch.add_many(b, overwrite=True) == list(range(200))
    assert len(b) == 0
    assert list(by_batch.accounts) == list(by_list.accounts) == again
    reread = Vault(str(tmp_path / "b"))
    assert reread.load() == "ok" and list(reread.accounts) == again


def test_a_batch_with_an_existing_account_and_no_overwrite_stores_nothing(tmp_path):
    v = Vault(str(tmp_path))
    v.load()
    v.add_many(accounts(3))
    b = Batch()
    for a in accounts(5, salt=1)[2:]:
        b.append(a)
    with pytest.raises(VaultError) as e:
        v.add_many(b)
    assert e.value.code == "duplicate" and "accounts[0]" in e.value.message
    assert list(v.accounts) == accounts(3) and len(b) == 3


def test_key_hashes_find_each_index_and_never_a_match_across_two_hashes():
    from fob.vault_edit import KeyHashes

    keys = KeyHashes()
    # Two hashes whose bytes hold others across their boundary: 0x11223344 then 0x55667788
    # are 44 33 22 11 | 88 77 66 55 (little-endian), so 22 11 88 77 is 0x77881122.
    hashes = [0x11223344, 0x55667788] + [(i * 2654435761) & 0x3FFFFFFF for i in range(1, 99)]
    for i, h in enumerate(hashes):
        keys[h] = i
    assert all(keys.get(h) == i for i, h in enumerate(hashes))
    assert keys.get(0x77881122) is None and keys.get(0x66778811) is None
    assert keys.get(0x3FFFFFFF) is None and keys.get(0) is None
    # Only in index order (the draft appends); no block past 128 bytes.
    with pytest.raises(ValueError):
        keys[5] = 7
    assert max(len(p) for p in keys.parts) <= 128
    # Room made ahead (a staged batch's, at its first part) holds no hash until one is set.
    ahead = KeyHashes(40)
    assert len(ahead.parts) == 2 and ahead.get(hashes[0]) is None
    for i, h in enumerate(hashes):
        ahead[h] = i
    assert len(ahead.parts) == 4 and all(ahead.get(h) == i for i, h in enumerate(hashes))
