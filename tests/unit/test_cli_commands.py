"""The CLI against an in-process fob: the real firmware protocol and vault behind a TCP port.

Only the clock is fake (laptop time plus an offset, or not set) so the tests control it.
"""

import base64
import io
import json
import re
import socket
import time

import pyotp
import pytest
import segno
from click.testing import CliRunner
from fakes import Cli, FakeRtc
from fakes import SocketFob as FakeFob
from fakes import WallClock as FakeClock
from PIL import Image

from otpfob import migration
from otpfob.cli import main
from otpfob.otpauth import Account, build_uri

vault_mod = pytest.importorskip("fob.vault")

SECRET = "N52HAZTPMIQHIZLTOQQHGZLDOJSXIIJB"


@pytest.fixture(autouse=True)
def otpfob_home(tmp_path, monkeypatch):
    """The clock history goes to a temporary folder, never the user's own."""
    home = tmp_path / "otpfob-home"
    monkeypatch.setenv("OTPFOB_HOME", str(home))
    return home


@pytest.fixture
def fob(socket_fob):
    return socket_fob


def run(fob, *args, input=None):
    return Cli(fob.url)(*args, input=input)


def run_json(fob, *args, input=None):
    return Cli(fob.url).json(*args, input=input)


def add(fob, label, secret=SECRET, *extra):
    result = run(fob, "add", label, secret, *extra)
    assert result.exit_code == 0, result.stderr
    return result


def labels(fob):
    return [(a["issuer"], a["name"]) for a in run_json(fob, "list")]


# --- add --------------------------------------------------------------------------------------


def test_add_with_secret_argument_stores_and_checks_the_code(fob):
    result = add(fob, "GitHub:octocat")
    assert "Added GitHub:octocat as #1" in result.stdout
    assert "matches" in result.stdout
    assert SECRET not in result.output + result.stderr
    acc = fob.vault.accounts[0]
    assert (acc.issuer, acc.name, acc.algorithm, acc.digits, acc.period) == (
        "GitHub",
        "octocat",
        "SHA1",
        6,
        30,
    )
    assert acc.secret == base64.b32decode(SECRET)


def test_add_prompts_for_a_hidden_secret(fob):
    result = run(fob, "add", "alice", "--issuer", "Example", input="jbsw y3dp ehpk 3pxp\n")
    assert result.exit_code == 0, result.stderr
    assert "jbsw" not in result.stdout
    assert labels(fob) == [("Example", "alice")]


def test_add_with_options(fob):
    add(
        fob,
        "bank",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "--issuer",
        "Bank",
        "--digits",
        "8",
        "--period",
        "60",
        "--algorithm",
        "sha256",
    )
    a = run_json(fob, "list")[0]
    assert (a["algorithm"], a["digits"], a["period"]) == ("SHA256", 8, 60)


def test_add_steam_account(fob):
    add(fob, "Steam:gabe", SECRET, "--algorithm", "steam")
    a = run_json(fob, "list")[0]
    assert (a["algorithm"], a["digits"]) == ("STEAM", 5)
    code = run_json(fob, "code", "gabe")[0]["code"]
    assert len(code) == 5 and all(c in "23456789BCDFGHJKMNPQRTVWXY" for c in code)


def test_add_by_uri(fob):
    a = Account(
        "alice@example.com",
        b"0123456789abcdefghij",
        issuer="ACME Co",
        algorithm="SHA512",
        digits=7,
        period=45,
    )
    result = run(fob, "add", "--uri", build_uri(a))
    assert result.exit_code == 0, result.stderr
    got = fob.vault.accounts[0]
    assert (got.issuer, got.name, got.algorithm, got.digits, got.period, got.secret) == (
        "ACME Co",
        "alice@example.com",
        "SHA512",
        7,
        45,
        b"0123456789abcdefghij",
    )


def test_add_by_qr_image(fob, tmp_path):
    uri = "otpauth://totp/Example:qr-user?secret=%s&issuer=Example" % SECRET
    path = tmp_path / "shot.png"
    segno.make_qr(uri).save(str(path), scale=5)
    result = run(fob, "add", "--qr", str(path))
    assert result.exit_code == 0, result.stderr
    assert labels(fob) == [("Example", "qr-user")]


def test_duplicate_add_suggests_force_and_force_replaces(fob):
    add(fob, "GitHub:octocat")
    result = run(fob, "add", "github:OCTOCAT", "GEZDGNBVGY3TQOJQ")
    assert result.exit_code == 1
    assert "already on the fob" in result.stderr and "--force" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    result = run(fob, "add", "github:OCTOCAT", "GEZDGNBVGY3TQOJQ", "--force")
    assert result.exit_code == 0, result.stderr
    assert "Replaced" in result.stdout
    assert len(fob.vault.accounts) == 1 and fob.vault.accounts[0].secret == b"1234567890"


def test_bad_base32_names_the_character_and_stores_nothing(fob):
    result = run(fob, "add", "alice", "JBSWY3DPEHPK3PX1")
    assert result.exit_code == 1
    assert "'1'" in result.stderr and "position 16" in result.stderr
    assert "JBSWY3DP" not in result.stderr
    assert fob.vault.accounts == []


def test_bad_uri_says_what_is_wrong(fob):
    result = run(fob, "add", "--uri", "otpauth://totp/x?secret=%s&digits=9" % SECRET)
    assert result.exit_code == 1 and "digits" in result.stderr


def test_add_on_a_fob_whose_clock_is_off_warns_and_fails(tmp_path):
    f = FakeFob(tmp_path, FakeClock(offset=-300))
    try:
        result = run(f, "add", "alice", SECRET)
        assert result.exit_code == 1
        assert "stored" in result.stderr
        assert re.search(r"off by -(299|300|301) s", result.stderr)
        assert "otpfob time set" in result.stderr
        assert len(f.vault.accounts) == 1
    finally:
        f.stop()


def test_add_with_clock_not_set_stores_but_warns(tmp_path):
    f = FakeFob(tmp_path, FakeClock(valid=False))
    try:
        result = run(f, "add", "alice", SECRET)
        assert result.exit_code == 1
        assert "clock is not set" in result.stderr
        assert len(f.vault.accounts) == 1
    finally:
        f.stop()


def test_add_json_output(fob):
    out = run_json(fob, "add", "Ex:bob", SECRET)
    assert out["index"] == 1 and out["verified"] is True and out["name"] == "bob"


def test_add_verification_tolerates_a_period_boundary(fob, monkeypatch):
    """The fob answers in the next period: still accepted."""
    from otpfob import codecheck

    real = codecheck.time.time
    calls = []

    def boundary_time():
        # Host readings sit just before a 30 s boundary; the fob's clock is real time.
        t = real()
        calls.append(t)
        return (t // 30) * 30 + 29.999 if len(calls) == 1 else t

    monkeypatch.setattr(codecheck.time, "time", boundary_time)
    fob.clock.offset = 0
    result = run(fob, "add", "alice", SECRET)
    assert result.exit_code == 0, result.stderr


# --- list, code, query ---------------------------------------------------------------------


@pytest.fixture
def stocked(fob):
    for label in (
        "GitHub:octocat",
        "GitLab:octocat",
        "Google:alice@gmail.com",
        "Google:bob@gmail.com",
    ):
        add(fob, label)
    return fob


def test_list_json_gives_issuer_and_name(stocked):
    rows = run_json(stocked, "list")
    assert [(r["issuer"], r["name"]) for r in rows] == [
        ("GitHub", "octocat"),
        ("GitLab", "octocat"),
        ("Google", "alice@gmail.com"),
        ("Google", "bob@gmail.com"),
    ]
    assert all("secret" not in r for r in rows)


def test_list_human_is_a_table(stocked):
    result = run(stocked, "list")
    assert result.exit_code == 0
    assert "GitLab" in result.stdout and "alice@gmail.com" in result.stdout
    assert "Issuer" in result.stdout


def test_code_all_matches_pyotp(stocked):
    rows = run_json(stocked, "code")
    expected = pyotp.TOTP(SECRET).now()
    assert len(rows) == 4
    for r in rows:
        assert set(r) >= {"issuer", "name", "code", "seconds_left"}
        assert r["code"] == expected or r["seconds_left"] >= 29


def test_code_query_substring_filters(stocked):
    rows = run_json(stocked, "code", "gmail")
    assert [r["name"] for r in rows] == ["alice@gmail.com", "bob@gmail.com"]
    rows = run_json(stocked, "code", "gitlab")
    assert [(r["issuer"], r["name"]) for r in rows] == [("GitLab", "octocat")]


def test_code_human_groups_digits(stocked):
    result = run(stocked, "code", "GitHub")
    code = pyotp.TOTP(SECRET).now()
    assert result.exit_code == 0
    assert code[:3] + " " + code[3:] in result.stdout or "29s" in result.stdout


def test_code_with_clock_not_set_is_an_error(tmp_path):
    f = FakeFob(tmp_path, FakeClock(valid=False))
    try:
        f.vault.add(vault_mod.Account("a", "", b"0123456789"))
        result = run(f, "code")
        assert result.exit_code == 1 and "clock is not set" in result.stderr
    finally:
        f.stop()


def test_ambiguous_query_lists_matches_and_changes_nothing(stocked):
    result = run(stocked, "delete", "octo", "--force")
    assert result.exit_code == 1
    assert "ambiguous" in result.stderr
    assert "GitHub:octocat" in result.stderr and "GitLab:octocat" in result.stderr
    assert len(stocked.vault.accounts) == 4


def test_exact_match_wins_over_substring(fob):
    add(fob, "Mail:bob")
    add(fob, "Mail:bobby")
    result = run(fob, "delete", "mail:BOB", "--force")
    assert result.exit_code == 0, result.stderr
    assert labels(fob) == [("Mail", "bobby")]


def test_unknown_query_is_an_error(stocked):
    result = run(stocked, "delete", "nothing-like-this", "--force")
    assert result.exit_code == 1 and "no account matches" in result.stderr


def test_hash_index_query(stocked):
    result = run(stocked, "delete", "#2", "--force")
    assert result.exit_code == 0, result.stderr
    assert ("GitLab", "octocat") not in labels(stocked)


# --- delete, rename, reset ---------------------------------------------------------------


def test_delete_asks_for_confirmation(stocked):
    result = run(stocked, "delete", "gitlab", input="n\n")
    assert result.exit_code == 3 and "nothing changed" in result.stderr
    assert len(stocked.vault.accounts) == 4
    result = run(stocked, "delete", "gitlab", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert ("GitLab", "octocat") not in labels(stocked)


def test_delete_under_json_needs_force(stocked):
    result = run(stocked, "--json", "delete", "gitlab")
    assert result.exit_code == 3 and "--force" in result.stderr
    out = run_json(stocked, "delete", "gitlab", "--force")
    assert out["name"] == "octocat" and out["issuer"] == "GitLab"


def test_rename_name_and_issuer(stocked):
    result = run(stocked, "rename", "alice", "alice@work.example", "--issuer", "Work")
    assert result.exit_code == 0, result.stderr
    assert ("Work", "alice@work.example") in labels(stocked)
    out = run_json(stocked, "rename", "bob@", "robert")
    assert (out["issuer"], out["name"]) == ("Google", "robert")


def test_rename_onto_existing_is_refused(stocked):
    result = run(stocked, "rename", "gitlab", "octocat", "--issuer", "GitHub")
    assert result.exit_code == 1 and "already exists" in result.stderr


def test_reset_confirms_then_erases(stocked):
    result = run(stocked, "reset", input="n\n")
    assert result.exit_code == 3 and len(stocked.vault.accounts) == 4
    result = run(stocked, "reset", "--force")
    assert result.exit_code == 0, result.stderr
    assert "Erased 4" in result.stdout and stocked.vault.accounts == []


# --- import ---------------------------------------------------------------------------------


def _accounts(n, prefix="user"):
    return [
        Account(
            "%s%03d@example.com" % (prefix, i),
            bytes([i % 256]) + b"0123456789abcdefghi",
            issuer="Service%d" % (i % 9),
        )
        for i in range(n)
    ]


def test_import_text_file_of_uris(fob, tmp_path):
    accounts = _accounts(5)
    path = tmp_path / "uris.txt"
    path.write_text("# my accounts\n" + "\n".join(build_uri(a) for a in accounts) + "\n")
    result = run(fob, "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "Imported 5" in result.stdout
    assert [a.secret for a in fob.vault.accounts] == [a.secret for a in accounts]


def test_import_migration_export_in_one_flash_write(fob):
    accounts = _accounts(12)
    uris = migration.export_uris(accounts, per_code=5, batch_id=42)
    writes = fob.fs.writes
    out = run_json(fob, "import", *uris)
    # Three parts of at most 1 KB (an import's line size), one batch: one flash write.
    assert out["added"] == 12 and out["requests"] == 3
    assert fob.fs.writes - writes == 1
    assert [(a.issuer, a.name) for a in fob.vault.accounts] == [
        (a.issuer, a.name) for a in accounts
    ]


def test_import_incomplete_export_names_the_missing_part(fob):
    uris = migration.export_uris(_accounts(12), per_code=5, batch_id=42)
    result = run(fob, "import", uris[0], uris[2])
    assert result.exit_code == 1
    assert "missing 2" in result.stderr
    assert fob.vault.accounts == []


def test_import_of_a_google_export_keeps_hotp_entries_with_their_counter(fob):
    entries = [
        migration.encode_entry(
            secret=b"0123456789", name="ctr", issuer="Bank", otp_type=migration.TYPE_HOTP, counter=7
        ),
        migration.encode_entry(Account("ok", b"0123456789", issuer="Fine")),
    ]
    uri = migration.encode_uri(migration.encode_payload(entries))
    result = run(fob, "import", uri)
    assert result.exit_code == 0, result.stderr
    assert labels(fob) == [("Bank", "ctr"), ("Fine", "ok")]
    hotp = [a for a in fob.vault.accounts if a.hotp]
    assert [(a.name, fob.vault.counters().get(a)) for a in hotp] == [("ctr", 7)]


def test_import_qr_image_of_an_export(fob, tmp_path):
    accounts = _accounts(3)
    uri = migration.export_uris(accounts)[0]
    buf = io.BytesIO()
    segno.make_qr(uri).save(buf, kind="png", scale=4)
    buf.seek(0)
    canvas = Image.new("RGB", (800, 600), (200, 220, 240))
    canvas.paste(Image.open(buf).convert("RGB"), (300, 120))
    path = tmp_path / "export.png"
    canvas.save(path)
    result = run(fob, "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert len(fob.vault.accounts) == 3


def test_import_refuses_existing_accounts_without_force(fob):
    accounts = _accounts(3)
    add(fob, "%s:%s" % (accounts[1].issuer, accounts[1].name))
    uri = migration.export_uris(accounts)[0]
    result = run(fob, "import", uri)
    assert result.exit_code == 1 and accounts[1].label in result.stderr
    assert len(fob.vault.accounts) == 1
    out = run_json(fob, "import", uri, "--force")
    assert (out["added"], out["replaced"]) == (2, 1)


def test_big_import_splits_into_line_sized_requests(fob):
    out = run_json(fob, "import", *migration.export_uris(_accounts(60), per_code=10))
    assert out["added"] == 60 and out["requests"] > 1
    assert len(fob.vault.accounts) == 60


def test_import_of_200_accounts_in_batches_of_the_fobs_batch_max(fob, tmp_path):
    accounts = _accounts(200)
    path = tmp_path / "uris.txt"
    path.write_text("".join(build_uri(a) + "\n" for a in accounts))
    writes = fob.fs.writes
    out = run_json(fob, "import", str(path))
    assert (out["added"], out["replaced"]) == (200, 0)
    # Many requests (the 2048-byte line limit) in two batches of the fob's batch_max (100),
    # one vault write each; besides the parts: hello (is the fob still protected?), info
    # and list.
    assert out["requests"] > 10 and out["round_trips"] == out["requests"] + 3
    assert fob.fs.writes - writes == 2
    assert [(a.issuer, a.name) for a in fob.vault.accounts] == [
        (a.issuer, a.name) for a in accounts
    ]


def test_import_refused_in_a_late_batch_keeps_the_batches_before_it_and_names_the_account(
    fob, tmp_path
):
    # 269 bytes each on flash: only 152 fit the vault, and the fob finds that out after
    # many parts were staged.
    accounts = [
        Account("n%03d" % i + "x" * 60, bytes([i]) * 128, issuer="i" * 64) for i in range(160)
    ]
    path = tmp_path / "uris.txt"
    path.write_text("".join(build_uri(a) + "\n" for a in accounts))
    writes = fob.fs.writes
    result = run(fob, "import", str(path))
    assert result.exit_code == 1
    # The first batch (100, the fob's batch_max) is stored; the second is refused whole.
    assert "the first 100 accounts (whole batches) were stored" in result.stderr
    assert "full" in result.stderr and accounts[152].label in result.stderr
    assert len(fob.vault.accounts) == 100 and fob.fs.writes == writes + 1


def test_import_warnings_name_the_account(fob, tmp_path):
    accounts = _accounts(40) + [Account("weak", b"12345", issuer="Short")]
    path = tmp_path / "uris.txt"
    path.write_text("".join(build_uri(a) + "\n" for a in accounts))
    result = run(fob, "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "Short:weak: secret is only 40 bits" in result.stderr
    assert len(fob.vault.accounts) == 41


def test_import_dry_run_changes_nothing(fob):
    rows = run_json(fob, "import", "--dry-run", *migration.export_uris(_accounts(4)))
    assert len(rows) == 4 and fob.vault.accounts == []


def test_import_counts_identical_entries_once(fob, tmp_path):
    path = tmp_path / "dup.txt"
    uri = build_uri(_accounts(1)[0])
    path.write_text(uri + "\n" + uri + "\n")
    result = run(fob, "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "appears 2 times with the same secret" in result.stderr
    assert "dup.txt line 1 and " in result.stderr and "dup.txt line 2)" in result.stderr
    assert len(fob.vault.accounts) == 1


def test_import_bad_line_is_skipped_with_file_and_line(fob, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(build_uri(_accounts(1)[0]) + "\notpauth://totp/x?secret=AB8C\n")
    result = run(fob, "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "skipped x (" in result.stderr
    assert "bad.txt line 2" in result.stderr and "'8'" in result.stderr
    assert "1 entry skipped" in result.stdout
    assert len(fob.vault.accounts) == 1


# --- info, time, selftest ---------------------------------------------------------------------


def test_info_json_has_contract_fields(stocked):
    out = run_json(stocked, "info")
    assert out["serial"] == "fake0001" and out["accounts"] == 4
    assert out["capacity"] == 200 and isinstance(out["time"], int) and out["firmware"]


def test_info_human(stocked):
    result = run(stocked, "info")
    assert result.exit_code == 0 and "fake0001" in result.stdout and "4 of 200" in result.stdout


def test_time_show_reports_drift(tmp_path):
    f = FakeFob(tmp_path, FakeClock(offset=42))
    try:
        out = run_json(f, "time", "show", "--ticks", "1")
        assert 41 <= out["drift"] <= 43 and out["valid"]
        result = run(f, "time", "show", "--ticks", "1")
        assert "ahead" in result.stdout
    finally:
        f.stop()


def test_time_set_aims_at_a_second_boundary(tmp_path):
    f = FakeFob(tmp_path, FakeClock(valid=False))
    try:
        out = run_json(f, "time", "set", "--ticks", "1")
        assert out["valid"] and abs(out["drift"]) <= 0.1
        ((epoch, at),) = f.clock.sets
        # The set arrived close to the laptop's whole second it names.
        assert abs(at - epoch) < 0.1
    finally:
        f.stop()


def _history(home):
    return json.loads((home / "clock-history.json").read_text())["fobs"]["fake0001"]["events"]


def test_time_show_and_set_record_readings_in_the_history(tmp_path, otpfob_home):
    f = FakeFob(tmp_path, FakeClock(offset=2.5, rtc=FakeRtc(7)))
    try:
        out = run_json(f, "time", "show", "--ticks", "1")
        assert out["recorded"] and out["aging"] == 7 and out["serial"] == "fake0001"
        assert abs(out["drift"] - 2.5) <= 0.05 and out["error"] < 0.05
        run_json(f, "time", "set", "--ticks", "1")
    finally:
        f.stop()
    show, done = _history(otpfob_home)
    assert show["kind"] == "show" and not show["set"] and show["aging"] == 7
    assert abs(show["offset"] - 2.5) <= 0.05
    assert done["kind"] == "set" and done["set"] and abs(done["offset"]) <= 0.1
    assert abs(done["before"]["offset"] - 2.5) <= 0.05


def _seed(home, events):
    home.mkdir(parents=True, exist_ok=True)
    (home / "clock-history.json").write_text(
        json.dumps({"version": 1, "fobs": {"fake0001": {"events": events}}})
    )


def test_calibrate_writes_the_aging_offset_from_a_day_of_readings(tmp_path, otpfob_home):
    # Set a day ago; the fob has gained 0.864 s since: 10 ppm fast, 100 steps to trim.
    now = time.time()
    _seed(
        otpfob_home,
        [
            {
                "at": now - 86400,
                "offset": 0.0,
                "error": 0.005,
                "set": True,
                "aging": 0,
                "kind": "set",
            }
        ],
    )
    rtc = FakeRtc(0)
    f = FakeFob(tmp_path, FakeClock(offset=0.864, rtc=rtc))
    try:
        dry = run_json(f, "time", "calibrate", "--dry-run", "--ticks", "1")
        assert dry["aging"] == 100 and not dry["written"] and rtc.aging == 0
        assert 9.0 < dry["ppm"] < 11.0
        out = run_json(f, "time", "calibrate", "--ticks", "1")
        assert out["written"] and out["aging_before"] == 0 and out["aging"] == 100
        assert rtc.aging == 100
        human = run(f, "info")
        assert human.exit_code == 0 and "Clock error" in human.stdout
        assert "100" in human.stdout
    finally:
        f.stop()
    last = _history(otpfob_home)[-1]
    assert last["kind"] == "calibrate" and last["aging"] == 100 and last["aging_before"] == 0


def test_calibrate_refuses_readings_less_than_a_day_apart(tmp_path, otpfob_home):
    _seed(otpfob_home, [{"at": time.time() - 3600, "offset": 0.0, "set": True, "aging": 0}])
    rtc = FakeRtc(0)
    f = FakeFob(tmp_path, FakeClock(offset=0.04, rtc=rtc))
    try:
        result = run(f, "time", "calibrate", "--ticks", "1")
    finally:
        f.stop()
    assert result.exit_code == 1 and rtc.aging == 0
    assert "span only 60 minutes" in result.stderr
    assert "run `otpfob time show` again after 20" in result.stderr
    # The reading it took is kept all the same.
    assert len(_history(otpfob_home)) == 2


def test_info_shows_the_estimated_clock_error_or_unknown(tmp_path, otpfob_home):
    f = FakeFob(tmp_path, FakeClock(offset=0.0, rtc=FakeRtc(0)))
    try:
        out = run_json(f, "info")
        assert out["clock_estimate"] is None and out["aging"] == 0
        assert "unknown" in run(f, "info").stdout
        now = time.time()
        _seed(
            otpfob_home,
            [
                {"at": now - 3 * 86400, "offset": 0.0, "set": True, "aging": 0},
                {"at": now - 2 * 86400, "offset": 0.432, "aging": 0},
                {"at": now - 86400, "offset": 0.864, "aging": 0},
            ],
        )
        est = run_json(f, "info")["clock_estimate"]
        assert abs(est["ppm"] - 5.0) < 0.01 and abs(est["since"] - 86400) < 60
        assert abs(est["offset"] - 1.296) < 0.01 and abs(est["drift"] - 0.432) < 0.01
        assert "about +1.30 s now" in run(f, "info").stdout
    finally:
        f.stop()


def test_selftest_passes(fob):
    result = run(fob, "selftest")
    assert result.exit_code == 0, result.stderr
    assert "all passed" in result.stdout


# --- errors without a fob -----------------------------------------------------------------------


def test_refused_port_is_one_line_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    result = CliRunner().invoke(main, ["--port", "socket://127.0.0.1:%d" % port, "list"])
    assert result.exit_code == 4
    assert result.stderr.startswith("otpfob: error: ") and result.stderr.count("\n") == 1


def test_silent_port_times_out():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        result = CliRunner().invoke(
            main,
            ["--timeout", "0.3", "--port", "socket://127.0.0.1:%d" % srv.getsockname()[1], "list"],
        )
        assert result.exit_code == 4 and "no reply" in result.stderr
    finally:
        srv.close()


def test_full_fob_is_a_clear_error(fob):
    fob.vault.add_many(
        [vault_mod.Account("n%d" % i, "Fill", b"0123456789") for i in range(fob.vault.capacity)]
    )
    result = run(fob, "add", "one:more", SECRET)
    assert result.exit_code == 1 and "full" in result.stderr
    result = run(fob, "import", build_uri(_accounts(1)[0]))
    assert result.exit_code == 1 and "full" in result.stderr
    assert len(fob.vault.accounts) == fob.vault.capacity


def test_non_ascii_labels_round_trip(fob):
    add(fob, "Café Zürich:josé@例え.jp")
    assert labels(fob) == [("Café Zürich", "josé@例え.jp")]
    rows = run_json(fob, "code", "zürich")
    assert rows[0]["name"] == "josé@例え.jp"


def test_add_without_secret_on_empty_stdin_is_an_error(fob):
    result = run(fob, "add", "alice", input="")
    assert result.exit_code == 1 and "no secret given" in result.stderr
    assert fob.vault.accounts == []


# --- the management password ------------------------------------------------------------------


def test_password_comes_from_the_keyring_when_remembered(fob, monkeypatch):
    import sys
    import types

    store = {}
    kr = types.ModuleType("keyring")
    kr.get_password = lambda service, user: store.get((service, user))
    kr.set_password = lambda service, user, pw: store.__setitem__((service, user), pw)
    kr.delete_password = lambda service, user: store.pop((service, user))
    monkeypatch.setitem(sys.modules, "keyring", kr)
    monkeypatch.setenv("OTPFOB_NEW_PASSWORD", "kept in the keyring")
    monkeypatch.delenv("OTPFOB_PASSWORD", raising=False)
    result = run(fob, "password", "set", "--iterations", "10000")
    assert result.exit_code == 0, result.stderr
    assert fob.presence.prompts[-1].startswith("Set password?\nCheck: ")
    # Not remembered yet: without a terminal the CLI cannot ask, so it says what to do.
    result = run(fob, "list")
    assert result.exit_code != 0 and "protected by a password" in result.stderr
    result = run(fob, "--password", "kept in the keyring", "password", "remember")
    assert result.exit_code == 0, result.stderr
    assert store == {("otpfob", "fake0001"): "kept in the keyring"}
    assert run_json(fob, "list") == []
    result = run(fob, "password", "forget")
    assert result.exit_code == 0 and store == {}
    assert run(fob, "list").exit_code != 0
