"""The `otpfob` command line."""

import click


@click.group()
@click.option("--port", envvar="OTPFOB_PORT", help="Device path or pyserial URL of the fob.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def main(ctx, port, as_json):
    """Provision and use an otpfob TOTP token."""
    ctx.obj = {"port": port, "json": as_json}
