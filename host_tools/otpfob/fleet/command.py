"""`otpfob fleet provision`: the click command over a run (provisioning.py), what it
prints while the fobs are done (a rich progress bar, one line per fob) and the summary.
"""

import json
import threading

import click

from ..cli.util import add_global_options
from .inputs import FleetError, read_password, read_users
from .provisioning import Fleet, Reporter, join_threads


class RichReporter(Reporter):
    def __init__(self, progress, task):
        self.progress = progress
        self.task = task
        self.lines = {}

    def status(self, port, text):
        description = text if port is None else "%s: %s" % (port, text)
        self.progress.update(self.task, description=description)

    def finished(self, outcome):
        if outcome.result == "done":
            self.progress.advance(self.task)
            text = "fob %s: done for %s" % (outcome.serial, outcome.upn)
        else:
            text = "fob %s: %s: %s" % (
                outcome.serial or outcome.port,
                outcome.result,
                outcome.detail,
            )
        self.progress.console.print(text, markup=False)

    def say(self, text):
        self.progress.console.print("[bold]%s[/bold]" % text)


@click.group(
    name="fleet",
    epilog="Example: otpfob fleet provision --users users.csv --issuer Example --out entra.csv",
)
def fleet():
    """Provision many fobs for many users."""


@fleet.command(
    name="provision",
    epilog="Example: otpfob fleet provision --users users.csv --issuer Example "
    "--out entra.csv --fob /dev/ttyACM1 --fob /dev/ttyACM3",
)
@click.option(
    "--users",
    "users_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV of users: a column named upn (other columns are ignored).",
)
@click.option("--issuer", required=True, help="Issuer shown on the fobs (your organisation).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="File whose first line is the management password to set on each fob.",
)
@click.option(
    "--fob",
    "fobs",
    multiple=True,
    metavar="PORT|URL",
    help="A fob's port (repeat for several). Without it: every fob plugged in.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="The file for the OTP server (holds the secrets; created with mode 0600).",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["entra-csv", "pskc"]),
    default="entra-csv",
    show_default=True,
    help="The CSV Entra ID imports, or PSKC (RFC 6030) for privacyIDEA, LinOTP "
    "and other OTP servers.",
)
@click.option(
    "--pskc-password-file",
    type=click.Path(dir_okay=False),
    help="With --format pskc: file whose first line is the password that "
    "encrypts the secrets (PBKDF2).",
)
@click.option(
    "--pskc-key-file",
    type=click.Path(dir_okay=False),
    help="With --format pskc: the pre-shared AES key (hex, or 16/24/32 bytes) "
    "that encrypts the secrets.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="Progress file for resuming [OUT.manifest.json].",
)
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Also provision fobs that already hold accounts (they keep them).",
)
@click.pass_obj
def provision_command(
    state,
    users_file,
    issuer,
    password_file,
    fobs,
    out,
    out_format,
    pskc_password_file,
    pskc_key_file,
    manifest,
    force,
):
    """Give each user of USERS a fob with a new secret, and write the CSV Entra ID imports
    (or PSKC for other OTP servers).

    Rerunning with the same --out resumes: finished users and fobs are skipped, and a fob
    whose run was interrupted is redone.
    """
    as_json = bool(getattr(state, "json", False))
    timeout = getattr(state, "timeout", 5.0)
    try:
        users = read_users(users_file)
        if not users:
            raise FleetError("%s lists no users" % users_file)
        password = read_password(password_file) if password_file else None
        pskc_password = pskc_key = None
        if out_format == "pskc":
            if pskc_password_file and pskc_key_file:
                raise FleetError("give --pskc-password-file or --pskc-key-file, not both")
            if pskc_password_file:
                pskc_password = read_password(pskc_password_file)
            elif pskc_key_file:
                from ..importers import ImportFileError
                from ..importers.pskc import read_key

                try:
                    pskc_key = read_key(pskc_key_file)
                except ImportFileError as exc:
                    raise FleetError(str(exc)) from None
        elif pskc_password_file or pskc_key_file:
            raise FleetError("--pskc-password-file and --pskc-key-file go with --format pskc")
        run = Fleet(
            users,
            issuer,
            out,
            manifest=manifest,
            password=password,
            force=force,
            timeout=timeout,
            out_format=out_format,
            pskc_password=pskc_password,
            pskc_key=pskc_key,
        )
    except (FleetError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=as_json, highlight=False)
    for upn in run.csv.dropped:
        console.print("Dropped the unfinished row of %s from %s." % (upn, out))
    interrupted = False
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as progress:
            task = progress.add_task("starting", total=len(users), completed=run.done_count())
            run.reporter = RichReporter(progress, task)
            stop = threading.Event()
            try:
                if fobs:
                    run.run_ports(fobs)
                else:
                    run.run_discovery(stop=stop)
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
                console.print(
                    "Stopping: finishing the fobs in progress (Ctrl-C again to "
                    "abandon them; a rerun redoes them)."
                )
                join_threads(run.threads)
    finally:
        run.close()
    summary = _summary(run, out, interrupted)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(console, run)
    if summary["done"] or not run.csv.created:
        where = (
            "upload it in the Microsoft Entra admin center (OATH tokens)"
            if out_format == "entra-csv"
            else "load it into the OTP server (privacyIDEA: Tokens > Import tokens, PSKC)"
        )
        console.print(
            "[bold]%s holds the tokens' secret keys[/bold] (mode 0600; nothing else "
            "stores them): %s, then delete it." % (out, where)
        )
    failed = sum(1 for o in run.outcomes if o.result == "failed")
    if failed:
        raise click.ClickException(
            "%d %s failed (listed above); rerun with the same --out "
            "to retry" % (failed, "fob" if failed == 1 else "fobs")
        )


def _summary(run, out, interrupted):
    return {
        "done": sum(o.result == "done" for o in run.outcomes),
        "fobs": [o.as_dict() for o in run.results()],
        "already_done": run.already,
        "pending": list(run.pending),
        "out": str(out),
        "manifest": str(run.manifest.path),
        "interrupted": interrupted,
    }


def _print_summary(console, run):
    from rich.table import Table

    table = Table(title="Fleet provisioning")
    table.add_column("Fob")
    table.add_column("Serial")
    table.add_column("User")
    table.add_column("Result")
    table.add_column("Detail")
    style = {"done": "green", "skipped": "yellow", "failed": "red"}
    for o in run.results():
        table.add_row(
            o.port, o.serial or "", o.upn or "", "[%s]%s[/]" % (style[o.result], o.result), o.detail
        )
    if run.outcomes:
        console.print(table)
    else:
        console.print("No fob was provisioned.")
    if run.already:
        n = len(run.already)
        console.print(
            "%d %s done in an earlier run (skipped)." % (n, "user was" if n == 1 else "users were")
        )
    if run.pending:
        n = len(run.pending)
        console.print(
            "%d %s no fob: %s"
            % (n, "user still has" if n == 1 else "users still have", ", ".join(run.pending))
        )


# fleet reports in JSON: it takes the global --json after its own name too.
add_global_options(fleet, ("--json",))
