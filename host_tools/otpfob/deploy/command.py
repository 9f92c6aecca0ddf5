"""`otpfob deploy`: the click command over the flow (flow.py), and its spinner."""

import sys
from pathlib import Path

import click

from .discovery import DeployError
from .flow import deploy_to_drive, deploy_via_repl


def spinner():
    """A spinner on stderr while a slow step runs, where stderr is a terminal; else None."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    return lambda text: console.status(text)


@click.command("deploy", epilog="Example: otpfob deploy --drive /media/$USER/CIRCUITPY --dry-run")
@click.option("--board", help="Board file in boards/ (default: the Board ID in boot_out.txt).")
@click.option(
    "--drive",
    type=click.Path(file_okay=False, path_type=Path),
    help="The CIRCUITPY drive (default: found by its volume label).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--force", "-f", is_flag=True, help="Replace another project's code.py.")
@click.option("--via-repl", is_flag=True, help="Copy over the REPL with mpremote instead.")
@click.option(
    "--repl-port",
    default="auto",
    show_default=True,
    help="Serial port of the REPL for --via-repl (mpremote's `connect` argument).",
)
@click.option(
    "--py",
    "source_only",
    is_flag=True,
    help="Install the .py sources instead of the precompiled .mpy files.",
)
def deploy_command(board, drive, dry_run, force, via_repl, repl_port, source_only):
    """Copy the otpfob firmware onto a CircuitPython board."""
    options = dict(
        board=board,
        force=force,
        dry_run=dry_run,
        use_mpy=not source_only,
        echo=click.echo,
        progress=spinner(),
    )
    try:
        if via_repl:
            deploy_via_repl(repl_port, **options)
        else:
            deploy_to_drive(drive, **options)
    except DeployError as e:
        raise click.ClickException(str(e)) from e
