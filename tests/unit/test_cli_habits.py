"""The CLI's habits, shared with ykman oath: global options after the command, short flags,
`code -s`, one numbering, exit statuses by kind, one-line errors that name the fix, plurals,
an example in every --help, and progress only on a terminal."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from fakes import Cli, SocketFob, WallClock

from fob.vault import Account as VaultAccount
from otpfob.cli import main
from otpfob.cli.util import State
from otpfob.otpauth import Account, build_uri

SECRET = "N52HAZTPMIQHIZLTOQQHGZLDOJSXIIJB"


def stock(cli, *labels):
    for label in labels:
        result = cli("add", label, SECRET)
        assert result.exit_code == 0, result.stderr


def one_error_line(result, code):
    """The error: the last line on stderr (a prompt or a press request may come before)."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("otpfob: error: "), result.stderr
    assert sum(1 for ln in lines if "error" in ln) == 1
    assert "Traceback" not in result.stderr and "Usage:" not in result.stderr
    return lines[-1]


# --- options after the command, short flags -----------------------------------------------


def test_json_and_port_are_taken_after_the_command(socket_fob):
    stock(Cli(socket_fob.url), "GitHub:octocat")
    for argv in (
        ["list", "--json", "--port", socket_fob.url],
        ["list", "-j", "--port", socket_fob.url],
        ["-j", "-p", socket_fob.url, "list"],
    ):
        result = CliRunner().invoke(main, argv)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)[0]["name"] == "octocat"


def test_password_is_taken_after_the_command_by_its_long_name_only(socket_fob):
    result = CliRunner().invoke(
        main,
        ["-p", socket_fob.url, "password", "set"],
        env={"OTPFOB_NEW_PASSWORD": "correct horse"},
    )
    assert result.exit_code == 0, result.stderr
    refused = Cli(socket_fob.url)("list")
    assert refused.exit_code == 1 and "password" in refused.stderr
    result = CliRunner().invoke(
        main, ["-p", socket_fob.url, "list", "-j", "--password", "correct horse"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    # -P after a command is never the password (in ykman it is add's period) ...
    result = CliRunner().invoke(main, ["-p", socket_fob.url, "list", "-P", "correct horse"])
    assert result.exit_code == 2 and "--help" in result.stderr
    # ... and -p after a command is not the port (in ykman it is the password).
    result = CliRunner().invoke(main, ["list", "-p", socket_fob.url])
    assert result.exit_code == 2 and "-p" in result.stderr


def test_add_takes_ykmans_short_flags_with_ykmans_meaning(socket_fob):
    # `ykman oath accounts add NAME SECRET -P 60 -d 8 -a SHA256 -i Issuer`: here too.
    result = Cli(socket_fob.url)(
        "add", "alice", "JBSWY3DPEHPK3PXP", "-P", "60", "-d", "8", "-a", "SHA256", "-i", "Ex"
    )
    assert result.exit_code == 0, result.stderr
    [account] = Cli(socket_fob.url).json("list")
    assert (account["issuer"], account["period"], account["digits"], account["algorithm"]) == (
        "Ex",
        60,
        8,
        "SHA256",
    )
    # Nothing took "60" as a password: the fob has none.
    assert Cli(socket_fob.url).json("info")["password"] is False


def test_fleet_takes_json_after_the_command(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("upn\nalice@example.com\n")
    result = CliRunner().invoke(
        main,
        [
            "fleet",
            "provision",
            "--users",
            str(users),
            "--issuer",
            "Ex",
            "--out",
            str(tmp_path / "o.csv"),
            "--fob",
            "socket://127.0.0.1:1",
            "-j",
        ],
    )
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["done"] == 0 and summary["fobs"][0]["result"] == "failed"


def test_force_has_the_short_flag_f(cli):
    stock(cli, "GitHub:octocat")
    assert cli("delete", "octocat", "-f").exit_code == 0
    assert cli.json("list") == []


# --- code -s ----------------------------------------------------------------------------------


def test_code_single_prints_only_the_code(cli):
    stock(cli, "GitHub:octocat", "GitLab:octocat")
    result = cli("code", "-s", "github")
    assert result.exit_code == 0, result.stderr
    expected = cli.json("code", "github")[0]["code"]
    assert result.stdout == expected + "\n"


def test_code_single_refuses_an_ambiguous_query_naming_the_matches(cli):
    stock(cli, "GitHub:octocat", "GitLab:octocat")
    err = one_error_line(cli("code", "-s", "octocat"), 1)
    assert "GitHub:octocat" in err and "GitLab:octocat" in err


def test_code_single_without_query_needs_exactly_one_account(cli):
    stock(cli, "GitHub:octocat")
    assert len(cli("code", "-s").stdout.strip()) == 6
    stock(cli, "GitLab:octocat")
    err = one_error_line(cli("code", "-s"), 2)
    assert "2 accounts" in err


# --- one numbering ----------------------------------------------------------------------------


def test_the_index_json_prints_is_the_number_hash_n_takes(cli):
    stock(cli, "A:one", "B:two", "C:three")
    listed = cli.json("list")
    assert [a["index"] for a in listed] == [1, 2, 3]
    second = listed[1]
    coded = cli.json("code", "#%d" % second["index"])
    assert coded[0]["index"] == 2 and coded[0]["name"] == "two"
    assert [e["index"] for e in cli.json("code")] == [1, 2, 3]
    added = cli.json("add", "D:four", SECRET)
    assert added["index"] == 4
    gone = cli.json("delete", "#%d" % second["index"], "-f")
    assert (gone["index"], gone["name"]) == (2, "two")


# --- exit statuses and one-line errors --------------------------------------------------------


def test_a_usage_error_is_one_line_naming_help_with_status_2(cli):
    err = one_error_line(cli("list", "--bogus"), 2)
    assert "--bogus" in err and "otpfob list --help" in err
    err = one_error_line(cli("add", "--digits", "9", "x"), 2)
    assert "--digits" in err


def test_not_confirmed_exits_3_and_changes_nothing(cli, socket_fob):
    stock(cli, "GitHub:octocat")
    one_error_line(cli("reset", input="n\n"), 3)
    one_error_line(cli("--json", "delete", "octocat"), 3)
    assert len(socket_fob.vault.accounts) == 1


def test_refused_on_the_fob_exits_3(cli, socket_fob):
    def say_no(prompt):
        socket_fob.presence.prompts.append(prompt)
        socket_fob.presence.answer = False

    socket_fob.presence.ask = say_no
    err = one_error_line(cli("add", "GitHub:octocat", SECRET), 3)
    assert "refused" in err
    assert socket_fob.vault.accounts == []


def test_no_fob_exits_4():
    result = CliRunner().invoke(main, ["--port", "socket://127.0.0.1:1", "list"])
    one_error_line(result, 4)


def test_host_and_port_without_scheme_names_the_url_meant():
    result = CliRunner().invoke(main, ["list", "--port", "127.0.0.1:7701"])
    err = one_error_line(result, 2)
    assert "did you mean socket://127.0.0.1:7701?" in err


def test_lazily_loaded_commands_report_errors_in_the_same_style(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("name\nalice\n")
    result = CliRunner().invoke(
        main,
        [
            "fleet",
            "provision",
            "--users",
            str(users),
            "--issuer",
            "Ex",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    err = one_error_line(result, 1)
    assert "upn" in err


def test_clock_not_set_names_otpfob_time_set(tmp_path):
    fob = SocketFob(tmp_path, WallClock(valid=False))
    try:
        fob.vault.add_many([VaultAccount("a", "X", b"0123456789")])
        err = one_error_line(Cli(fob.url)("code"), 1)
        assert "otpfob time set" in err
    finally:
        fob.stop()


def test_clearing_a_password_that_is_not_there_names_password_set(cli):
    err = one_error_line(cli("password", "clear"), 1)
    assert "otpfob password set" in err


# --- import: files as people have them, and a dry run that asks the fob ----------------------


def _uris(*labels):
    return "".join(
        build_uri(Account(n, b"0123456789abcdefghij", issuer=i)) + "\n"
        for i, n in (label.split(":") for label in labels)
    )


def test_import_of_a_folder_names_it(cli, tmp_path):
    err = one_error_line(cli("import", str(tmp_path)), 1)
    assert "is a folder" in err


def test_import_reads_utf16_and_latin1_text_files(cli, socket_fob, tmp_path):
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(_uris("Ex:one").encode("utf-16"))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(_uris("Ex:two").replace("two", "tw\u00f6").encode("latin-1"))
    result = cli("import", str(utf16), str(latin1))
    assert result.exit_code == 0, result.stderr
    assert "Latin-1" in result.stderr
    assert [(a.issuer, a.name) for a in socket_fob.vault.accounts] == [
        ("Ex", "one"),
        ("Ex", "tw\u00f6"),
    ]


def test_import_dry_run_asks_the_fob_and_changes_nothing(cli, socket_fob, tmp_path):
    stock(cli, "Ex:old")
    path = tmp_path / "uris.txt"
    path.write_text(_uris("Ex:old", "Ex:new"))
    plan = cli.json("import", "--dry-run", str(path))
    assert [(r["name"], r["action"]) for r in plan] == [("old", "refuse"), ("new", "add")]
    assert plan[0]["reason"] == "already on the fob" and plan[0]["index"] == 1
    forced = cli.json("import", "-n", "-f", str(path))
    assert [r["action"] for r in forced] == ["replace", "add"]
    human = cli("import", "--dry-run", str(path))
    assert "1 account would be added, 0 replaced, 0 skipped, 1 refused" in human.stdout
    assert [a.name for a in socket_fob.vault.accounts] == ["old"]


def test_import_dry_run_refuses_what_does_not_fit(cli, socket_fob, tmp_path):
    room = socket_fob.vault.capacity
    socket_fob.vault.add_many(
        [VaultAccount("n%d" % i, "Fill", b"0123456789") for i in range(room - 1)]
    )
    path = tmp_path / "uris.txt"
    path.write_text(_uris("Ex:a", "Ex:b"))
    plan = cli.json("import", "--dry-run", str(path))
    assert [(r["action"], r.get("reason")) for r in plan] == [
        ("add", None),
        ("refuse", "the fob is full"),
    ]


# --- plurals ----------------------------------------------------------------------------------


def test_counts_are_said_with_the_right_plural(cli, tmp_path):
    path = tmp_path / "one.txt"
    path.write_text(_uris("Ex:one"))
    assert "Imported 1 account (1 new" in cli("import", str(path)).stdout
    assert "Erased 1 account." in cli("reset", "-f").stdout


# --- --help everywhere ------------------------------------------------------------------------


def _walk(group, ctx, path):
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield path + [name], cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, click.Context(cmd, parent=ctx, info_name=name), path + [name])


def test_every_command_help_shows_an_example():
    ctx = click.Context(main, info_name="otpfob")
    commands = list(_walk(main, ctx, []))
    assert len(commands) > 20
    for path, _ in [([], main)] + commands:
        result = CliRunner().invoke(main, path + ["--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.stdout, " ".join(["otpfob"] + path)


def test_every_force_and_json_has_its_short_flag_lazily_loaded_commands_too():
    ctx = click.Context(main, info_name="otpfob")
    seen = {"--force": [], "--json": []}
    for path, cmd in _walk(main, ctx, []):
        for param in cmd.params:
            for long, short in (("--force", "-f"), ("--json", "-j")):
                if long in param.opts:
                    seen[long].append(" ".join(path))
                    assert short in param.opts, "otpfob %s %s has no %s" % (
                        " ".join(path),
                        long,
                        short,
                    )
    # deploy and fleet are loaded when asked for; fleet takes --json after its name.
    assert "deploy" in seen["--force"] and "fleet provision" in seen["--force"]
    assert "fleet provision" in seen["--json"]


# --- progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_json, tty, live", [(False, True, True), (True, True, False), (False, False, False)]
)
def test_progress_is_drawn_only_on_a_terminal_and_never_under_json(monkeypatch, as_json, tty, live):
    monkeypatch.setattr("sys.stderr.isatty", lambda: tty, raising=False)
    state = State(None, None, as_json, 5.0)
    with state.activity("Working", total=3) as activity:
        activity.advance()
        assert activity.live is live


# --- the fleet's users file as spreadsheets save it ------------------------------------------


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("name;upn\nAlice;alice@example.com\nBob;bob@example.com\n", "utf-8"),
        ("name\tupn\nAlice\talice@example.com\nBob\tbob@example.com\n", "utf-16"),
        ("name,upn\nAlice,alice@example.com\nBob,bob@example.com\n", "utf-8-sig"),
    ],
)
def test_fleet_users_file_is_read_whatever_the_delimiter_and_encoding(tmp_path, text, encoding):
    from otpfob.fleet import read_users

    path = tmp_path / "users.csv"
    path.write_bytes(text.encode(encoding))
    assert read_users(str(path)) == ["alice@example.com", "bob@example.com"]


def test_every_expected_error_shares_one_base_class_carrying_its_exit_status():
    from otpfob import auth, calibration, client, deploy, fleet, keystore, otpauth, qr, transport
    from otpfob.cli.util import ExpectedError, explain
    from otpfob.errors import (
        EXIT_ERROR,
        EXIT_NO_FOB,
        EXIT_REFUSED,
        OtpfobError,
    )

    kinds = [
        (transport.TransportError("no_port", "no fob found"), EXIT_NO_FOB),
        (client.FobError("timeout", "no reply"), EXIT_NO_FOB),
        (client.FobError("refused", "said no"), EXIT_REFUSED),
        (client.FobError("cooldown", "wait"), EXIT_REFUSED),
        (client.FobError("full", "no room"), EXIT_ERROR),
        (otpauth.OtpauthError("bad URI"), EXIT_ERROR),
        (qr.QrError("no QR code"), EXIT_ERROR),
        (auth.PasswordError("empty"), EXIT_ERROR),
        (keystore.KeystoreError("no keyring"), EXIT_ERROR),
        (deploy.DeployError("no drive"), EXIT_ERROR),
        (fleet.FleetError("bad CSV"), EXIT_ERROR),
        (calibration.CalibrationError("too few readings"), EXIT_ERROR),
    ]
    for exc, status in kinds:
        assert isinstance(exc, OtpfobError), type(exc)
        assert exc.exit_status == status, type(exc)
        out = explain(exc)
        assert isinstance(out, ExpectedError) and out.exit_code == status
        assert str(exc) in out.format_message()
    # A fob's error gets the fix its message lacks, found by its code, not its class name.
    assert "otpfob delete" in explain(client.FobError("full", "no room")).format_message()
    assert "otpfob" not in explain(transport.TransportError("busy", "in use")).format_message()


# --- several fobs: otpfob devices and --device SERIAL ------------------------------------


class ListedPort:
    """A serial port as pyserial lists a fob's data channel; `device` is the URL of a
    SocketFob, so opening it reaches that fob."""

    vid, pid = 0x239A, 0x80F4
    interface = "CircuitPython CDC2 data"

    def __init__(self, device, serial_number=None):
        self.device = device
        self.serial_number = serial_number


@pytest.fixture
def two_fobs(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    a = SocketFob(tmp_path / "a", serial="e6614103e7000001")
    b = SocketFob(tmp_path / "b", serial="e6614103e7000002")
    # The first shows its USB serial number; the second's system does not show one.
    listed = [ListedPort(a.url, "E6614103E7000001"), ListedPort(b.url)]
    from otpfob import transport

    monkeypatch.setattr(transport, "list_serial_ports", lambda: listed)
    yield a, b
    a.stop()
    b.stop()


def test_devices_lists_every_fob_with_its_serial_and_firmware(two_fobs):
    a, b = two_fobs
    result = CliRunner().invoke(main, ["devices", "--json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    # In the order of their ports (as discovery sorts them).
    assert [(r["port"], r["serial"], r["state"]) for r in rows] == sorted(
        [(a.url, "e6614103e7000001", "ok"), (b.url, "e6614103e7000002", "ok")]
    )
    assert all(r["protocol"] == 2 and r["board"] == "test" for r in rows)


def test_device_picks_the_fob_by_serial_whether_its_port_shows_one_or_not(two_fobs):
    a, b = two_fobs
    stock(Cli(a.url), "GitHub:octocat")
    stock(Cli(b.url), "Mail:alice")
    for serial, name in (("E6614103E7000001", "octocat"), ("e6614103e7000002", "alice")):
        result = CliRunner().invoke(main, ["-d", serial, "list", "--json"])
        assert result.exit_code == 0, result.stderr
        assert [x["name"] for x in json.loads(result.stdout)] == [name]
        result = CliRunner().invoke(main, ["list", "--device", serial, "--json"])
        assert [x["name"] for x in json.loads(result.stdout)] == [name]
    # Without --device two fobs are an error in a script, naming the way out.
    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 4 and "2 fobs connected" in result.stderr


def test_device_names_the_serials_found_when_none_matches(two_fobs):
    result = CliRunner().invoke(main, ["-d", "0123", "list"])
    assert result.exit_code == 4
    assert "no fob with serial 0123" in result.stderr
    assert "e6614103e7000001" in result.stderr and "e6614103e7000002" in result.stderr


def test_device_with_port_checks_that_the_fob_there_is_that_one(socket_fob):
    result = CliRunner().invoke(main, ["-p", socket_fob.url, "-d", "other", "list"])
    assert result.exit_code == 4 and "is fake0001, not other" in result.stderr
    result = CliRunner().invoke(main, ["-p", socket_fob.url, "-d", "FAKE0001", "list"])
    assert result.exit_code == 0, result.stderr


# --- Ctrl-C and a fob that goes away ----------------------------------------------------


class Silent:
    """A holder who never answers the fob's question."""

    def __init__(self):
        self.prompts = []
        self.answer = None

    def ask(self, prompt):
        self.prompts.append(prompt)

    def cancel(self):
        self.answer = None

    def notify(self, text):
        pass


def test_ctrl_c_during_the_fobs_question_exits_130_saying_nothing_changed(socket_fob, monkeypatch):
    socket_fob.presence = Silent()

    def ctrl_c(self, prompt, check=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(State, "_press_prompt", ctrl_c)
    result = Cli(socket_fob.url)("add", "GitHub:octocat", SECRET)
    assert result.exit_code == 130, result.stderr
    assert "Aborted!" not in result.stderr
    assert "interrupted: the fob's question about the add ends when the port closes" in (
        result.stderr
    )
    assert "nothing was changed on the fob before it" in result.stderr
    monkeypatch.undo()
    assert Cli(socket_fob.url).json("list") == []


def test_ctrl_c_before_anything_was_sent_says_so(monkeypatch):
    from otpfob.cli import util

    def ctrl_c(port):
        raise KeyboardInterrupt

    monkeypatch.setattr(util, "check_port", ctrl_c)
    result = CliRunner().invoke(main, ["-p", "socket://127.0.0.1:9", "list"])
    assert result.exit_code == 130
    assert "nothing was sent to the fob, so nothing on it changed" in result.stderr


def test_a_fob_unplugged_mid_import_says_nothing_of_the_import_was_stored(
    socket_fob, tmp_path, monkeypatch
):
    from otpfob import transport

    lines = ["otpauth://totp/S%d:u%d?secret=JBSWY3DPEHPK3PXP" % (i, i) for i in range(60)]
    (tmp_path / "many.txt").write_text("\n".join(lines) + "\n")
    real = transport.SerialTransport.write_line

    def unplug_at_part_one(self, data):
        if b'"part":1,' in data:
            raise transport.TransportError("io", "lost the connection to the fob (unplugged)")
        return real(self, data)

    monkeypatch.setattr(transport.SerialTransport, "write_line", unplug_at_part_one)
    result = Cli(socket_fob.url)("import", str(tmp_path / "many.txt"))
    assert result.exit_code == 4, result.stderr
    assert "lost the connection" in result.stderr
    assert "the import's staged parts are dropped" in result.stderr
    assert "nothing was changed on the fob before it" in result.stderr
    monkeypatch.undo()
    assert Cli(socket_fob.url).json("list") == []


def test_shell_completion_as_docs_admin_gives_it():
    # docs/admin.md, "Shell completion": the script, and what it completes.
    otpfob = str(Path(sys.executable).with_name("otpfob"))
    env = dict(os.environ, _OTPFOB_COMPLETE="bash_source")
    script = subprocess.run([otpfob], env=env, capture_output=True, text=True, timeout=30)
    assert script.returncode == 0 and "_otpfob_completion" in script.stdout
    env = dict(os.environ, _OTPFOB_COMPLETE="bash_complete", COMP_WORDS="otpfob dev")
    env["COMP_CWORD"] = "1"
    out = subprocess.run([otpfob], env=env, capture_output=True, text=True, timeout=30)
    assert "plain,devices" in out.stdout.split()
    admin = (Path(__file__).resolve().parents[2] / "docs" / "admin.md").read_text()
    assert "_OTPFOB_COMPLETE=bash_source otpfob" in admin
