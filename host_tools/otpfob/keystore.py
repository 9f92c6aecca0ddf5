"""Management passwords remembered in the OS keyring, one per fob serial.

The `keyring` package is optional (`pip install otpfob[keyring]`); without it, or without a
usable keyring backend, nothing is remembered and the CLI asks instead.
"""

from .errors import OtpfobError

SERVICE = "otpfob"


class KeystoreError(OtpfobError):
    pass


def _keyring():
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def available():
    return _keyring() is not None


def get(serial):
    kr = _keyring()
    if kr is None or not serial:
        return None
    try:
        return kr.get_password(SERVICE, serial)
    except Exception:
        # A keyring without a backend (a headless machine) is the same as none.
        return None


def put(serial, password):
    kr = _keyring()
    if kr is None:
        raise KeystoreError(
            "remembering passwords needs the keyring package, which this installation "
            "lacks: pip install 'otpfob[keyring]' (with pipx: pipx inject otpfob keyring)"
        )
    try:
        kr.set_password(SERVICE, serial, password)
    except Exception as e:
        raise KeystoreError("the OS keyring refused the password (%s)" % type(e).__name__) from None


def forget(serial):
    kr = _keyring()
    if kr is None:
        return False
    try:
        kr.delete_password(SERVICE, serial)
    except Exception:
        return False
    return True
