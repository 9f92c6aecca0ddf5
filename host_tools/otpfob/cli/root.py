"""The `otpfob` group: global options, lazily loaded commands, and the command modules.

Start-up time matters (`otpfob code` is typed many times a day), so only click is imported
here; rich, pyserial, Pillow and zxing-cpp are imported inside the commands that use them,
and the `sim`, `deploy`, `fleet` and `web` commands are loaded only when invoked.
"""

import importlib

import click

from . import accounts, clock, device, importer, password, settings
from .util import (
    EXIT_INTERRUPTED,
    ExpectedError,
    OtpfobError,
    State,
    add_global_options,
    explain,
    one_line,
)

# name -> (module, attribute, short help shown by --help without importing the module)
LAZY_COMMANDS = {
    "deploy": ("otpfob.deploy", "deploy_command", "Copy the firmware to a CIRCUITPY drive."),
    "fleet": ("otpfob.fleet", "fleet", "Provision many fobs for many users (Entra ID CSV)."),
    "sim": ("otpfob.sim.command", "sim", "Run the simulated fob (terminal or headless)."),
    "web": ("otpfob.web", "web_command", "The admin page in your browser (WebSerial)."),
}


class FobGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(set(click.Group.list_commands(self, ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        cmd = click.Group.get_command(self, ctx, name)
        if cmd is not None or name not in LAZY_COMMANDS:
            return cmd
        module, attr, _ = LAZY_COMMANDS[name]
        try:
            cmd = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ExpectedError(
                "the %s command is not available in this installation (%s)" % (name, exc)
            ) from None
        # Each lazily loaded command is defined with the conventions the rest follow
        # (its example, -f and -j, fleet's --json): nothing is added to it here.
        return cmd

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][2]))
                continue
            cmd = click.Group.get_command(self, ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width - 20)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return click.Group.make_context(self, info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            raise one_line(exc) from None

    def invoke(self, ctx):
        # Every command's errors end here, so all of them (usage errors, deploy's, fleet's)
        # come out as one line and an exit status of their kind.
        try:
            return click.Group.invoke(self, ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            raise one_line(exc, ctx) from None
        except (KeyboardInterrupt, click.Abort):
            # Ctrl-C (click turns one at a prompt into Abort): exit 130 as shells do, with
            # what was and was not changed instead of click's bare "Aborted!".
            raise ExpectedError(
                "interrupted: %s" % _state(ctx).interruption(), EXIT_INTERRUPTED
            ) from None
        except Exception as exc:
            if isinstance(exc, OtpfobError):
                err = explain(exc)
                if getattr(exc, "code", None) == "io" and _state(ctx).connected:
                    # The fob went away mid-run (unplugged): say what that left behind.
                    err = ExpectedError(
                        "%s; %s" % (err.format_message(), _state(ctx).interruption()),
                        err.exit_code,
                    )
                raise err from None
            raise


def _state(ctx):
    state = ctx.find_object(State)
    return state if state is not None else State(ctx, None, False, 5.0)


@click.group(cls=FobGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-p",
    "--port",
    envvar="OTPFOB_PORT",
    metavar="PORT|URL",
    help="Device path or pyserial URL (socket://HOST:PORT) of the fob's data "
    "channel. Found by its USB interface when omitted. Env: OTPFOB_PORT.",
)
@click.option(
    "-d",
    "--device",
    envvar="OTPFOB_DEVICE",
    metavar="SERIAL",
    help="The fob with this serial, when several are plugged in (`otpfob devices` lists "
    "them). Env: OTPFOB_DEVICE.",
)
@click.option("-j", "--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--timeout",
    type=float,
    default=5.0,
    show_default=True,
    envvar="OTPFOB_TIMEOUT",
    help="Seconds to wait for each reply.",
)
@click.option(
    "--password",
    envvar="OTPFOB_PASSWORD",
    metavar="PASSWORD",
    help="The fob's management password, when it has one (else asked for). Env: OTPFOB_PASSWORD.",
)
@click.version_option(package_name="otpfob", message="otpfob %(version)s")
@click.pass_context
def main(ctx, port, device, as_json, timeout, password):
    """Provision and use an otpfob TOTP token.

    QUERY arguments match "issuer:name" as a case-insensitive substring; an exact match
    wins, and #N picks the N-th account of `otpfob list` (the `index` --json prints).
    --json, --port and --password may also follow the command (`otpfob list -j`); short
    flags mean what they mean in `ykman oath accounts` (add -P is the period).
    Exit status: 0 ok, 1 error, 2 usage, 3 refused on the fob or not confirmed, 4 no fob,
    130 interrupted (Ctrl-C; the message says what was and was not changed).

    \b
    Examples:
      otpfob add GitHub:octocat          (asks for the secret)
      otpfob code -s github              (just the code, for scripts)
    """
    ctx.obj = State(ctx, port, as_json, timeout, password, device)


for command in (
    device.devices,
    device.info,
    accounts.list_,
    accounts.add,
    importer.import_,
    accounts.code,
    accounts.delete,
    accounts.rename,
    settings.settings_group,
    clock.time_group,
    device.reset,
    device.selftest,
    password.password_group,
):
    main.add_command(command)
    add_global_options(command)
