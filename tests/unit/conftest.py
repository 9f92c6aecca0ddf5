"""Fixtures the unit tests share; the fakes themselves live in fakes.py."""

import pytest
from fakes import Cli, SocketFob


@pytest.fixture
def socket_fob(tmp_path):
    """The real firmware protocol and vault behind socket://127.0.0.1:N."""
    fob = SocketFob(tmp_path)
    yield fob
    fob.stop()


@pytest.fixture
def cli(socket_fob):
    """`otpfob` against socket_fob: cli("list"), cli.json("code")."""
    return Cli(socket_fob.url)


@pytest.fixture
def old_fob(tmp_path):
    """socket_fob's twin as firmware before HOTP answers: no "hotp" in info's "types"."""
    from fakes import NoHotpFob

    fob = NoHotpFob(tmp_path)
    yield fob
    fob.stop()
