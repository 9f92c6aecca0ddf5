"""Copy the otpfob firmware onto a CircuitPython board (`otpfob deploy`).

One flow (flow.py, ``install(target, ...)``) over two targets (targets.py) that only move
files: ``DriveTarget``, the CIRCUITPY USB drive (found by its volume label, or
``--drive``), the normal way; ``ReplTarget``, the REPL through ``mpremote``
(``--via-repl``), for a fob whose drive is hidden. What the flow finds before it starts
(the drive, boot_out.txt, mpy-cross, mpremote) is discovery.py's; what goes where (the
files, the .mpy or .py form, settings.toml, ownership, stale files, space) is plan.py's;
the click command is command.py's. Every name other modules and tests use is here.
"""

from .command import deploy_command
from .discovery import (
    DRIVE_LABEL,
    MAINTENANCE_HINT,
    MIN_CIRCUITPYTHON,
    MPREMOTE_MISSING,
    BootInfo,
    DeployError,
    MpyCross,
    check_version,
    find_drive,
    find_drives,
    find_mpremote,
    find_mpy_cross,
    parse_boot_out,
)
from .flow import (
    TMP_SUFFIX,
    Result,
    deploy_to_drive,
    deploy_via_repl,
    first_boot_message,
    install,
    print_plan,
)
from .plan import (
    ADAFRUIT_LIBS,
    BOARDS_DIR,
    FIRMWARE_DIR,
    KEEP_SOURCE,
    MANIFEST,
    NOT_DEPLOYABLE,
    SETTINGS,
    SHADOWING_CODE,
    STOCK_CODE,
    Compiler,
    Plan,
    PlanItem,
    board_file,
    build_plan,
    check_ownership,
    compiler,
    firmware_files,
    firmware_version,
    known_boards,
    library_sources,
    merge_settings,
    stale_files,
)
from .targets import DriveTarget, Mpremote, ReplTarget, Target

__all__ = [
    "ADAFRUIT_LIBS",
    "BOARDS_DIR",
    "DRIVE_LABEL",
    "FIRMWARE_DIR",
    "KEEP_SOURCE",
    "MAINTENANCE_HINT",
    "MANIFEST",
    "MIN_CIRCUITPYTHON",
    "MPREMOTE_MISSING",
    "NOT_DEPLOYABLE",
    "SETTINGS",
    "SHADOWING_CODE",
    "STOCK_CODE",
    "TMP_SUFFIX",
    "BootInfo",
    "Compiler",
    "DeployError",
    "DriveTarget",
    "Mpremote",
    "MpyCross",
    "Plan",
    "PlanItem",
    "ReplTarget",
    "Result",
    "Target",
    "board_file",
    "build_plan",
    "check_ownership",
    "check_version",
    "compiler",
    "deploy_command",
    "deploy_to_drive",
    "deploy_via_repl",
    "find_drive",
    "find_drives",
    "find_mpremote",
    "find_mpy_cross",
    "firmware_files",
    "firmware_version",
    "first_boot_message",
    "install",
    "known_boards",
    "library_sources",
    "merge_settings",
    "parse_boot_out",
    "print_plan",
    "stale_files",
]
