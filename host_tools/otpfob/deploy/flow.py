"""The one install flow, the same for every target: read boot_out.txt, plan, refuse what
is not ours, check space, stage every file under a temporary name, read it back, then
rename into place and check again, so a failed copy leaves the previous firmware working.
It talks through ``echo`` (a line of output) and ``progress`` (a context manager shown
while a slow step runs); the command (command.py) gives it click's and a spinner.
"""

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import plan as planning
from .discovery import DeployError, check_version, find_drive, parse_boot_out
from .plan import MANIFEST, SETTINGS, SHADOWING_CODE, Plan, PlanItem
from .targets import DriveTarget, Mpremote, ReplTarget, Target

# Each file is written under this suffix, read back, and only then renamed into place.
TMP_SUFFIX = ".otpfob-new"


@dataclass
class Result:
    plan: Plan
    written: list
    removed: list
    target: str


def _size(n):
    if n < 1024:
        return "%d B" % n
    if n < 1024 * 1024:
        return "%.1f KiB" % (n / 1024)
    return "%.1f MiB" % (n / (1024 * 1024))


def print_plan(plan, echo):
    kind = ".mpy (compiled with %s)" % plan.mpy.version_line if plan.mpy else ".py"
    echo(
        "otpfob firmware %s for board %s on CircuitPython %s"
        % (plan.firmware_version, plan.board, plan.info.version_text)
    )
    echo("installing %s" % kind)
    if not plan.mpy and plan.mpy_reason:
        echo("  (%s; .mpy files would save RAM on the fob)" % plan.mpy_reason)
    width = max(len(i.dest) for i in plan.items)
    for i in plan.items:
        echo(
            "  %-*s %10s  %s"
            % (width, i.dest, _size(len(i.data)), "mpy" if i.dest.endswith(".mpy") else "py")
        )
    echo("  %-*s %10s  (%d files)" % (width, "total", _size(plan.total_bytes), len(plan.items)))


def _warn_board(plan, echo):
    if plan.info.board_id and plan.info.board_id != plan.board:
        echo(
            "warning: the board reports itself as %s but the board file is %s"
            % (plan.info.board_id, plan.board)
        )


def first_boot_message(echo):
    echo("Unplug the fob and plug it in again: boot.py only runs at power-on.")
    echo('On first boot the fob shows "Clock not set" until you run `otpfob time set`,')
    echo('then "No accounts" until you add one (`otpfob add` or `otpfob import`).')
    echo("Accounts already stored on the fob are kept.")


def install(
    target: Target,
    *,
    board: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    use_mpy: bool = True,
    firmware_dir: Path | None = None,
    boards_dir: Path | None = None,
    echo: Callable[[str], object] = print,
    progress: Callable[[str], contextlib.AbstractContextManager[object]] | None = None,
) -> Result:
    """The deploy itself, the same for every target (a DriveTarget, a ReplTarget, or
    anything with the Target interface): read boot_out.txt, plan, refuse what is not
    ours, check space, stage every file under a temporary name, read it back, then rename
    into place and check again. ``progress(text)``, when given, returns a context manager
    that shows ``text`` while a slow step runs (the CLI's spinner). Returns a Result;
    raises DeployError with what to do."""
    step = progress or (lambda text: contextlib.nullcontext())
    # Read once, at the call: tests point the package's firmware folder elsewhere.
    firmware_dir = Path(firmware_dir or planning.FIRMWARE_DIR)
    boot = target.read("boot_out.txt")
    if boot is None:
        raise target.no_boot_out()
    info = parse_boot_out(boot.decode("utf-8", "replace"))
    check_version(info)
    board = planning.choose_board(info, board, boards_dir)
    mpy, reason = planning.compiler_for(info, use_mpy, firmware_dir)
    plan = planning.build_plan(info, board, mpy, reason, firmware_dir, boards_dir)
    _warn_board(plan, echo)
    echo(target.label)
    print_plan(plan, echo)
    old_manifest = planning.load_manifest(target.read(MANIFEST))
    found = {n: target.read(n) for n in ("code.py", "boot.py") + SHADOWING_CODE}
    planning.keep_settings(plan, target.read(SETTINGS))
    aside = planning.check_ownership(plan, found, old_manifest, force, echo)
    existing = target.existing(planning.other_forms(plan, old_manifest))
    stale = planning.stale_files(plan, old_manifest, lambda d: d in existing)
    for s in stale:
        echo("  remove %s (replaced)" % s)
    free, cluster = target.space()
    need = planning.needed_space(plan, cluster)
    if free < need:
        raise DeployError(
            "not enough free space on %s: the firmware needs %s, %s free. Remove files "
            "you no longer need from it (old libraries in lib/) and try again; nothing "
            "was written" % (target.name, _size(need), _size(free))
        )
    writable = target.writable()
    if dry_run:
        if not writable:
            echo("warning: %s is read-only to this computer" % target.name)
        echo("dry run: nothing written (%s needed, %s free)" % (_size(need), _size(free)))
        return Result(plan, [], [], target.name)
    if not writable:
        raise target.read_only()

    items = plan.items + [PlanItem(MANIFEST, plan.manifest_bytes(), "manifest")]
    staged = [i.dest + TMP_SUFFIX for i in items]
    try:
        with step("copying %d files (%s) %s" % (len(items), _size(plan.total_bytes), target.where)):
            target.write([(t, i.data) for t, i in zip(staged, items, strict=True)])
        with step("reading back %d files %s" % (len(items), target.where)):
            bad = planning.check_copy(items, target.read_back(staged))
        if bad:
            raise DeployError(
                "the copy %s did not read back correctly: %s. Nothing was replaced; try "
                "again, and if it repeats the board's flash may be failing"
                % (target.where, "; ".join(bad))
            )
    except DeployError:
        target.remove(staged)
        raise
    removed = target.commit(aside, [(t, i.dest) for t, i in zip(staged, items, strict=True)], stale)
    for name in aside:
        echo("moved %s aside to %s.disabled" % (name, name))
    with step("checking the installed files %s" % target.where):
        bad = planning.check_copy(plan.items, target.read_back([i.dest for i in plan.items]))
    if bad:
        raise DeployError(
            "after the copy, files %s differ from the firmware: %s; deploy "
            "again" % (target.where, "; ".join(bad))
        )
    echo(
        "verified %d files (%s) by size and SHA-256 %s"
        % (len(plan.items), _size(plan.total_bytes), target.where)
    )
    first_boot_message(echo)
    return Result(plan, [i.dest for i in plan.items], removed, target.name)


def deploy_to_drive(drive: Path | None = None, **options: Any) -> Result:
    """Install the firmware on a mounted CIRCUITPY drive (found by its label when not
    given); ``options`` are install()'s. Returns a Result."""
    return install(DriveTarget(drive if drive else find_drive()), **options)


def deploy_via_repl(port: str = "auto", mpremote: Mpremote | None = None, **options: Any) -> Result:
    """Install the firmware over the REPL with mpremote (the drive hidden or unusable);
    ``options`` are install()'s. Returns a Result."""
    mp = mpremote or Mpremote(port)
    with tempfile.TemporaryDirectory(prefix="otpfob-repl-") as work:
        return install(ReplTarget(mp, work), **options)
