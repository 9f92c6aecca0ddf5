"""The `otpfob` group: global options, lazily loaded commands, and the command modules.

Start-up time matters (`otpfob code` is typed many times a day), so only click is imported
here; rich, pyserial, Pillow and zxing-cpp are imported inside the commands that use them,
and the `sim`, `deploy` and `fleet` commands are loaded only when invoked.
"""

import importlib

import click

from . import accounts, clock, device, importer, password, settings
from .util import ExpectedError, State, expected_error_types

# name -> (module, attribute, short help shown by --help without importing the module)
LAZY_COMMANDS = {
    "deploy": ("otpfob.deploy", "deploy_command", "Copy the firmware to a CIRCUITPY drive."),
    "fleet": ("otpfob.fleet", "fleet", "Provision many fobs for many users (Entra ID CSV)."),
    "sim": ("otpfob.sim.command", "sim", "Run the simulated fob (terminal or headless)."),
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
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ExpectedError("the %s command is not available in this installation (%s)"
                                % (name, exc)) from None

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

    def invoke(self, ctx):
        try:
            return click.Group.invoke(self, ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, expected_error_types()):
                raise ExpectedError(str(exc)) from None
            raise


@click.group(cls=FobGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--port", envvar="OTPFOB_PORT", metavar="PORT|URL",
              help="Device path or pyserial URL (socket://HOST:PORT) of the fob's data "
                   "channel. Found by its USB interface when omitted. Env: OTPFOB_PORT.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--timeout", type=float, default=5.0, show_default=True, envvar="OTPFOB_TIMEOUT",
              help="Seconds to wait for each reply.")
@click.option("--password", envvar="OTPFOB_PASSWORD", metavar="PASSWORD",
              help="The fob's management password, when it has one (else asked for). "
                   "Env: OTPFOB_PASSWORD.")
@click.version_option(package_name="otpfob", message="otpfob %(version)s")
@click.pass_context
def main(ctx, port, as_json, timeout, password):
    """Provision and use an otpfob TOTP token.

    QUERY arguments match "issuer:name" as a case-insensitive substring; an exact match
    wins, and #N picks the N-th account of `otpfob list`.
    """
    ctx.obj = State(ctx, port, as_json, timeout, password)


for command in (device.info, accounts.list_, accounts.add, importer.import_, accounts.code,
                accounts.delete, accounts.rename, settings.settings_group, clock.time_group,
                device.reset, device.selftest, password.password_group):
    main.add_command(command)
