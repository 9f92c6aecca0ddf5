"""`otpfob import` and `otpfob add` for HOTP against in-process fobs: formats found by
content, passwords from a file, the environment or a prompt, the per-account dry run,
--skip-existing and --replace, conflicts, and HOTP accounts: stored with their counters by
the firmware, and skipped with a clear line by a fob whose info lists no "hotp"
(fakes.NoHotpFob, as older firmware)."""

import json

import pytest
from export_samples import VECTORS, check_accounts, reference_code
from fakes import Cli

from otpfob.importers import pskc as pskc_format

PASSWORD = "s3cret pass"


@pytest.fixture(autouse=True)
def otpfob_home(tmp_path, monkeypatch):
    monkeypatch.setenv("OTPFOB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OTPFOB_EXPORT_PASSWORD", raising=False)


def uri_file(tmp_path, vectors, name="list.txt"):
    path = tmp_path / name
    path.write_text("\n".join(v.uri() for v in vectors) + "\n", encoding="utf-8")
    return path


def labels(fob):
    return sorted(
        ("%s:%s" % (a.issuer, a.name)) if a.issuer else a.name for a in fob.vault.accounts
    )


def test_hotp_lines_are_skipped_on_a_fob_without_hotp_and_the_rest_comes_across(old_fob, tmp_path):
    socket_fob = old_fob
    cli = Cli(socket_fob.url)
    result = cli("import", str(uri_file(tmp_path, VECTORS)))
    assert result.exit_code == 0, result.stderr
    for v in VECTORS:
        if v.kind == "hotp":
            assert "skipped %s (" % v.label in result.stderr
    assert result.stderr.count("this fob's firmware shows no HOTP codes") == 2
    assert "5 new" in result.stdout and "2 entries skipped" in result.stdout
    assert labels(socket_fob) == sorted(v.label for v in VECTORS if v.kind == "totp")
    # The stored accounts give pyotp's codes.
    from fob import otp

    for v in VECTORS:
        for a in socket_fob.vault.accounts:
            if a.name == v.name and (a.issuer or "") == v.issuer and v.kind == "totp":
                assert otp.totp(
                    a.secret,
                    1800000123,
                    digits=a.digits,
                    period=a.period,
                    algorithm=a.algorithm.lower(),
                ) == reference_code(v)


def hotp_of(fob):
    """{(issuer, name): counter} of the fob's HOTP accounts, from its counters."""
    counters = fob.vault.counters()
    return {(a.issuer, a.name): counters.get(a) for a in fob.vault.accounts if a.hotp}


def test_hotp_accounts_are_stored_with_their_counters_and_give_the_next_codes(socket_fob, tmp_path):
    cli = Cli(socket_fob.url)
    out = cli.json("import", str(uri_file(tmp_path, VECTORS)))
    assert (out["added"], out["skipped"]) == (7, [])
    assert hotp_of(socket_fob) == {("Issuu", "James"): 1, ("WWE", "Mason"): 10300}
    # Each HOTP code a host asks for is the next one (with a press), never the same twice.
    codes = cli.json("code", "Issuu")
    for v in VECTORS:
        if v.issuer == "Issuu":
            assert codes[0]["code"] == reference_code(v) and codes[0]["counter"] == 1
    again = cli.json("code", "Issuu")
    assert again[0]["counter"] == 2 and again[0]["code"] != codes[0]["code"]
    assert hotp_of(socket_fob)[("Issuu", "James")] == 3


def test_add_hotp_with_a_counter(socket_fob, old_fob):
    secret = VECTORS[3].secret
    result = Cli(socket_fob.url)("add", "Bank:card", secret, "--hotp", "--counter", "12")
    assert result.exit_code == 0, result.stderr
    assert "counter 12" in result.stdout
    assert hotp_of(socket_fob) == {("Bank", "card"): 12}
    result = Cli(old_fob.url)("add", "Bank:card", secret, "--hotp")
    assert result.exit_code == 1 and "firmware shows no HOTP codes" in result.stderr
    assert old_fob.vault.accounts == []
    result = Cli(socket_fob.url)("add", "Bank:cards", secret, "--counter", "3")
    assert result.exit_code == 2 and "--hotp" in result.stderr


def test_dry_run_says_per_account_what_and_why(old_fob, tmp_path):
    socket_fob = old_fob
    cli = Cli(socket_fob.url)
    assert cli("add", "Deno:Mason", VECTORS[0].secret).exit_code == 0
    path = uri_file(tmp_path, VECTORS)
    with open(path, "a") as f:
        f.write("otpauth://totp/Old:md5?secret=JBSWY3DPEHPK3PXP&algorithm=MD5\n")
    result = cli("import", "--dry-run", str(path))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("refuse   Deno:Mason") and "already on the fob" in line for line in lines
    )
    assert any(
        line.startswith("skip     Issuu:James") and "no HOTP codes" in line for line in lines
    )
    assert any(line.startswith("skip     Old:md5") and "MD5" in line for line in lines)
    assert any(line.startswith("add      Steam:gabe") for line in lines)
    assert "would be added, 0 replaced, 3 skipped, 1 refused" in result.stdout
    rows = cli.json("import", "-n", "--skip-existing", str(path))
    assert {r["label"]: r["action"] for r in rows}["Deno:Mason"] == "skip"
    assert len(socket_fob.vault.accounts) == 1


def test_existing_accounts_refused_skipped_or_replaced(socket_fob, tmp_path):
    cli = Cli(socket_fob.url)
    assert cli("add", "Deno:Mason", "JBSWY3DPEHPK3PXPJBSWY3DP").exit_code == 0
    path = uri_file(tmp_path, [v for v in VECTORS if v.kind == "totp"])
    result = cli("import", str(path))
    assert result.exit_code == 1 and "already on the fob: Deno:Mason" in result.stderr
    assert "--skip-existing" in result.stderr and "--replace" in result.stderr
    assert len(socket_fob.vault.accounts) == 1
    out = cli.json("import", "--skip-existing", str(path))
    assert (out["added"], out["replaced"]) == (4, 0)
    deno = [a for a in socket_fob.vault.accounts if a.name == "Mason"][0]
    assert deno.secret != VECTORS[0].key
    out = cli.json("import", "--replace", str(path))
    assert (out["added"], out["replaced"]) == (0, 5)
    deno = [a for a in socket_fob.vault.accounts if a.name == "Mason"][0]
    assert deno.secret == VECTORS[0].key


def test_two_secrets_under_one_label_store_nothing_and_name_both(socket_fob, tmp_path):
    a = uri_file(tmp_path, VECTORS[:2], "a.txt")
    b = tmp_path / "b.txt"
    b.write_text("otpauth://totp/SPDX:James?secret=JBSWY3DPEHPK3PXPJBSWY3DP\n")
    result = Cli(socket_fob.url)("import", str(a), str(b))
    assert result.exit_code == 1
    assert "SPDX:James (%s line 2 and %s line 1)" % (a, b) in result.stderr
    assert "Nothing was stored" in result.stderr
    assert socket_fob.vault.accounts == []


def _pskc(tmp_path, password):
    vectors = [v for v in VECTORS if v.kind == "totp" and v.algorithm != "STEAM" and v.issuer]
    path = tmp_path / "seeds.pskc"
    path.write_bytes(
        pskc_format.write(
            [
                {
                    "upn": v.name,
                    "serial": str(n),
                    "secret": v.key,
                    "period": v.period,
                    "digits": v.digits,
                    "algorithm": v.algorithm,
                    "issuer": v.issuer,
                }
                for n, v in enumerate(vectors)
            ],
            password=password,
        )
    )
    return path, vectors


def test_password_from_a_file_the_environment_or_the_prompt(socket_fob, tmp_path, monkeypatch):
    path, vectors = _pskc(tmp_path, PASSWORD)
    cli = Cli(socket_fob.url)
    result = cli("import", str(path))
    assert result.exit_code == 1 and "is encrypted" in result.stderr
    assert "nothing was stored" in result.stderr
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")
    result = cli("import", "--export-password-file", str(wrong), str(path))
    assert result.exit_code == 1 and "wrong password or key" in result.stderr
    assert "nothing was stored" in result.stderr and socket_fob.vault.accounts == []
    right = tmp_path / "right.txt"
    right.write_text(PASSWORD + "\n")
    out = cli.json("import", "--export-password-file", str(right), "--dry-run", str(path))
    assert [r["action"] for r in out] == ["add"] * len(vectors)
    monkeypatch.setenv("OTPFOB_EXPORT_PASSWORD", PASSWORD)
    out = cli.json("import", str(path))
    assert out["added"] == len(vectors)
    check_accounts([_as_account(a) for a in socket_fob.vault.accounts], vectors)


def test_the_prompt_asks_on_a_terminal(socket_fob, tmp_path, monkeypatch):
    from otpfob.cli import importer

    path, vectors = _pskc(tmp_path, PASSWORD)
    monkeypatch.setattr(importer, "_on_a_terminal", lambda: True)
    asked = []

    def prompt(text, hide_input=False, err=False):
        asked.append((text, hide_input))
        return PASSWORD

    monkeypatch.setattr(importer.click, "prompt", prompt)
    result = Cli(socket_fob.url)("import", str(path))
    assert result.exit_code == 0, result.stderr
    assert asked == [("Password of %s" % path, True)]
    assert len(socket_fob.vault.accounts) == len(vectors)


def _as_account(a):
    from otpfob.otpauth import Account

    return Account(
        a.name, a.secret, issuer=a.issuer, algorithm=a.algorithm, digits=a.digits, period=a.period
    )


def test_an_unknown_file_is_described(socket_fob, tmp_path):
    path = tmp_path / "data.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(200))
    result = Cli(socket_fob.url)("import", str(path))
    assert result.exit_code == 1
    assert "data.db is a SQLite database" in result.stderr
    assert "Bitwarden export" in result.stderr and result.stderr.count("\n") == 1


def test_entra_csv_and_pskc_written_by_fleet_read_back(socket_fob, tmp_path):
    path, vectors = _pskc(tmp_path, PASSWORD)
    key = tmp_path / "key.hex"
    key.write_text("00112233445566778899aabbccddeeff\n")
    psk = tmp_path / "psk.pskc"
    psk.write_bytes(
        pskc_format.write(
            [
                {
                    "upn": "carol@x.example",
                    "serial": "9",
                    "secret": VECTORS[0].key,
                    "issuer": "Contoso",
                }
            ],
            key=bytes.fromhex("00112233445566778899aabbccddeeff"),
        )
    )
    rows = Cli(socket_fob.url).json("import", "--dry-run", "--pskc-key-file", str(key), str(psk))
    assert [(r["label"], r["action"]) for r in rows] == [("Contoso:carol@x.example", "add")]
    assert json.dumps(rows).find(VECTORS[0].secret) == -1
