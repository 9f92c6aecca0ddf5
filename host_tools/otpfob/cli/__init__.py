"""The `otpfob` command line: one module per command group, shared helpers in util.

root      the `otpfob` group, global options, lazily loaded commands (sim, deploy, fleet)
util      errors, the per-invocation State (connection, password, output), account matching
device    info, reset, selftest
accounts  list, add, code, delete, rename
importer  import
clock     time show / set / calibrate
settings  settings show / set
password  password set / change / clear / remember / forget
"""

from .root import LAZY_COMMANDS, main

__all__ = ["LAZY_COMMANDS", "main"]
