"""Passwords remembered per fob serial in the OS keyring (optional `keyring` package)."""

import sys
import types

import pytest

from otpfob import auth, keystore
from otpfob.cli import password as password_commands


@pytest.fixture
def fake_keyring(monkeypatch):
    store = {}
    mod = types.ModuleType("keyring")
    mod.get_password = lambda service, user: store.get((service, user))

    def set_password(service, user, password):
        store[(service, user)] = password

    def delete_password(service, user):
        del store[(service, user)]

    mod.set_password = set_password
    mod.delete_password = delete_password
    monkeypatch.setitem(sys.modules, "keyring", mod)
    return store


def test_put_get_forget_per_serial(fake_keyring):
    keystore.put("e661aaaa", "pw one")
    keystore.put("e661bbbb", "pw two")
    assert keystore.get("e661aaaa") == "pw one" and keystore.get("e661bbbb") == "pw two"
    assert fake_keyring == {("otpfob", "e661aaaa"): "pw one", ("otpfob", "e661bbbb"): "pw two"}
    assert keystore.forget("e661aaaa") is True and keystore.get("e661aaaa") is None
    assert keystore.forget("e661aaaa") is False
    assert keystore.get(None) is None


def test_without_keyring_nothing_is_remembered(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    assert keystore.available() is False and keystore.get("e661aaaa") is None
    with pytest.raises(keystore.KeystoreError) as e:
        keystore.put("e661aaaa", "pw")
    assert "pip install 'otpfob[keyring]'" in str(e.value)


def test_a_keyring_without_backend_counts_as_none(fake_keyring, monkeypatch):
    def broken(service, user):
        raise RuntimeError("No recommended backend was available")

    monkeypatch.setattr(sys.modules["keyring"], "get_password", broken)
    assert keystore.get("e661aaaa") is None


def test_cli_default_iterations_match_the_auth_module():
    assert password_commands.DEFAULT_ITERATIONS == auth.ITERATIONS
