"""otpfob deploy against folders laid out like a CIRCUITPY drive (no board needed)."""

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from otpfob import deploy
from otpfob.deploy import deploy_command, parse_boot_out

REPO = Path(__file__).resolve().parents[2]
BOARDS = REPO / "boards"

BOOT_9 = (
    "Adafruit CircuitPython 9.2.1 on 2024-11-20; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\nUID:E6614103E7123456\n"
)
BOOT_10 = (
    "Adafruit CircuitPython 10.0.3 on 2025-10-17; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\nUID:E6614103E7123456\n"
)
BOOT_8_2 = (
    "Adafruit CircuitPython 8.2.0 on 2023-07-05; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\n"
)
BOOT_7_3 = (
    "Adafruit CircuitPython 7.3.3 on 2022-08-29; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\n"
)


def snapshot(root):
    """Every file under root with its bytes: what 'nothing written' is checked against."""
    root = Path(root)
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def firmware(tmp_path):
    """The repository's firmware tree; boot.py/code.py stand-ins until those exist."""
    fw = tmp_path / "firmware"
    shutil.copytree(REPO / "firmware", fw, ignore=shutil.ignore_patterns("__pycache__"))
    (fw / "lib" / "fob").mkdir(parents=True, exist_ok=True)
    if not (fw / "boot.py").exists():
        (fw / "boot.py").write_text("import usb_cdc\nusb_cdc.enable(console=True, data=True)\n")
    if not (fw / "code.py").exists():
        (fw / "code.py").write_text("import fob_board\nfrom fob.app import main\nmain(fob_board)\n")
    if not (fw / "lib" / "fob" / "version.py").exists():
        (fw / "lib" / "fob" / "version.py").write_text('FIRMWARE = "0.1.0"\n')
    return fw


@pytest.fixture
def path_bin(tmp_path, monkeypatch):
    """A PATH holding only what a test puts there, so no real mpy-cross is picked up."""
    b = tmp_path / "bin"
    b.mkdir()
    monkeypatch.setenv("PATH", str(b))
    return b


def make_drive(tmp_path, boot_out, name="CIRCUITPY"):
    d = tmp_path / name
    d.mkdir()
    (d / "boot_out.txt").write_text(boot_out)
    return d


def run(firmware, *args):
    """The click command, with the test's firmware tree in place of the repository's."""
    saved = deploy.plan.FIRMWARE_DIR
    deploy.plan.FIRMWARE_DIR = firmware
    try:
        return CliRunner().invoke(deploy_command, list(args), catch_exceptions=False)
    finally:
        deploy.plan.FIRMWARE_DIR = saved


def expected_files(firmware, board="raspberry_pi_pico", ext=".py"):
    """dest -> source bytes of everything a deploy installs."""
    out = {
        "boot.py": (firmware / "boot.py").read_bytes(),
        "code.py": (firmware / "code.py").read_bytes(),
        "fob_board.py": (BOARDS / (board + ".py")).read_bytes(),
        "settings.toml": (firmware / "settings.toml").read_bytes(),
    }
    for p in (firmware / "lib").rglob("*.py"):
        out[p.relative_to(firmware).as_posix()] = p.read_bytes()
    for name in deploy.ADAFRUIT_LIBS:
        spec = importlib.util.find_spec(name)
        if spec.submodule_search_locations:
            pkg = Path(list(spec.submodule_search_locations)[0])
            for p in pkg.glob("*.py"):
                out["lib/%s/%s" % (name, p.name)] = p.read_bytes()
        else:
            out["lib/" + Path(spec.origin).name] = Path(spec.origin).read_bytes()
    if ext == ".mpy":
        out = {(k[:-3] + ".mpy" if k.startswith("lib/") else k): v for k, v in out.items()}
    return out


# --------------------------------------------------------------------------- deploys


@pytest.mark.parametrize("boot_out", [BOOT_9, BOOT_10, BOOT_8_2], ids=["9.2", "10.0", "8.2"])
def test_deploy_py_installs_firmware_board_file_and_drivers_byte_for_byte(
    tmp_path, firmware, path_bin, boot_out
):
    drive = make_drive(tmp_path, boot_out)
    res = run(firmware, "--drive", str(drive), "--py")
    assert res.exit_code == 0, res.output
    for dest, data in expected_files(firmware).items():
        assert (drive / dest).read_bytes() == data, dest
    manifest = json.loads((drive / ".otpfob").read_text())
    assert manifest["board"] == "raspberry_pi_pico"
    assert manifest["format"] == "py"
    code = (firmware / "code.py").read_bytes()
    assert manifest["files"]["code.py"]["sha256"] == hashlib.sha256(code).hexdigest()
    assert not list(drive.rglob("*" + deploy.TMP_SUFFIX))
    assert not list(drive.rglob("*.mpy")) and not (drive / "mpy").exists()
    assert "installing .py" in res.output and "--py" in res.output
    assert "verified" in res.output
    assert "Clock not set" in res.output and "otpfob time set" in res.output
    assert "No accounts" in res.output


@pytest.mark.parametrize(
    "boot_out,major", [(BOOT_9, 9), (BOOT_10, 10), (BOOT_8_2, 8)], ids=["9.2", "10.0", "8.2"]
)
def test_deploy_installs_the_committed_mpy_files_of_the_boards_major(
    tmp_path, firmware, path_bin, boot_out, major
):
    drive = make_drive(tmp_path, boot_out)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert "installing .mpy" in res.output and "CircuitPython %d." % major in res.output
    committed = firmware / "mpy" / ("cp%d" % major)
    for dest, data in expected_files(firmware, ext=".mpy").items():
        if dest.endswith(".mpy"):
            assert (drive / dest).read_bytes() == (committed / dest).read_bytes(), dest
        else:  # boot.py, code.py and the board file stay source
            assert (drive / dest).read_bytes() == data, dest
    assert not list((drive / "lib").rglob("*.py"))
    assert not (drive / "mpy").exists()
    manifest = json.loads((drive / ".otpfob").read_text())
    assert manifest["format"] == "mpy" and "CircuitPython %d." % major in manifest["compiler"]


def test_stale_mpy_files_are_not_deployed(tmp_path, firmware, path_bin):
    with open(firmware / "lib" / "fob" / "otp.py", "a") as f:
        f.write("\n# changed without make mpy\n")
    drive = make_drive(tmp_path, BOOT_9)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert "installing .py" in res.output
    assert "stale" in res.output and "lib/fob/otp.py" in res.output and "make mpy" in res.output
    assert (drive / "lib" / "fob" / "otp.py").read_bytes() == (
        firmware / "lib" / "fob" / "otp.py"
    ).read_bytes()
    assert not list(drive.rglob("*.mpy"))


def test_deploy_picks_board_from_board_id_and_board_option_overrides(tmp_path, firmware, path_bin):
    boot = BOOT_9.replace("raspberry_pi_pico", "adafruit_qtpy_rp2040")
    drive = make_drive(tmp_path, boot)
    assert run(firmware, "--drive", str(drive)).exit_code == 0
    assert (drive / "fob_board.py").read_bytes() == (
        BOARDS / "adafruit_qtpy_rp2040.py"
    ).read_bytes()
    res = run(firmware, "--drive", str(drive), "--board", "adafruit_feather_rp2040")
    assert res.exit_code == 0, res.output
    assert (drive / "fob_board.py").read_bytes() == (
        BOARDS / "adafruit_feather_rp2040.py"
    ).read_bytes()
    assert "warning: the board reports itself as adafruit_qtpy_rp2040" in res.output


def test_circuitpython_7_3_is_refused_naming_the_version_needed(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_7_3)
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "7.3.3" in res.output and "8.2.0 or newer" in res.output
    assert snapshot(drive) == before


def test_another_projects_code_py_is_refused_and_force_overwrites_it(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    (drive / "code.py").write_text("import neopixel\nprint('my light show')\n")
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "code.py" in res.output and "another project" in res.output
    assert "--force" in res.output
    assert snapshot(drive) == before
    res = run(firmware, "--drive", str(drive), "--force")
    assert res.exit_code == 0, res.output
    assert (drive / "code.py").read_bytes() == (firmware / "code.py").read_bytes()


def test_another_projects_boot_py_is_refused(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    (drive / "boot.py").write_text("import storage\nstorage.disable_usb_drive()\n")
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0 and "boot.py on the board belongs to another project" in res.output
    assert snapshot(drive) == before


def test_editor_and_hidden_files_in_the_firmware_tree_are_not_copied(tmp_path, firmware, path_bin):
    (firmware / "lib" / "fob" / ".otp.py.swp").write_bytes(b"junk")
    (firmware / "lib" / "fob" / "__pycache__").mkdir(exist_ok=True)
    (firmware / "lib" / "fob" / "__pycache__" / "otp.cpython-311.pyc").write_bytes(b"junk")
    drive = make_drive(tmp_path, BOOT_9)
    assert run(firmware, "--drive", str(drive)).exit_code == 0
    assert not list(drive.rglob("*.swp")) and not list(drive.rglob("__pycache__"))


def test_stock_hello_world_code_py_is_replaced_without_force(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    (drive / "code.py").write_text('print("Hello World!")\n')
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert (drive / "code.py").read_bytes() == (firmware / "code.py").read_bytes()


def test_upgrade_over_our_own_earlier_code_py_needs_no_force(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    assert run(firmware, "--drive", str(drive)).exit_code == 0
    (firmware / "code.py").write_text((firmware / "code.py").read_text() + "# newer\n")
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert (drive / "code.py").read_bytes() == (firmware / "code.py").read_bytes()


def test_code_py_edited_after_our_deploy_is_refused(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    assert run(firmware, "--drive", str(drive)).exit_code == 0
    (drive / "code.py").write_text("print('edited by hand')\n")
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "changed since otpfob installed it" in res.output


def test_code_txt_that_would_run_instead_is_refused_and_moved_aside_with_force(
    tmp_path, firmware, path_bin
):
    drive = make_drive(tmp_path, BOOT_9)
    (drive / "code.txt").write_text("print('runs first')\n")
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0 and "code.txt" in res.output
    res = run(firmware, "--drive", str(drive), "--force")
    assert res.exit_code == 0, res.output
    assert not (drive / "code.txt").exists()
    assert (drive / "code.txt.disabled").read_text() == "print('runs first')\n"


def test_files_of_an_earlier_deploy_are_cleaned_but_other_files_kept(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    (firmware / "lib" / "fob" / "retired.py").write_text("X = 1\n")
    assert run(firmware, "--drive", str(drive)).exit_code == 0
    assert (drive / "lib" / "fob" / "retired.py").exists()
    (drive / "vault_a.bin").write_bytes(b"\x01accounts")
    (drive / "lib" / "neopixel.py").write_text("# someone else's library\n")
    (firmware / "lib" / "fob" / "retired.py").unlink()
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert not (drive / "lib" / "fob" / "retired.py").exists()
    assert (drive / "vault_a.bin").read_bytes() == b"\x01accounts"
    assert (drive / "lib" / "neopixel.py").exists()


def test_too_little_space_is_refused_and_nothing_written(tmp_path, firmware, path_bin, monkeypatch):
    drive = make_drive(tmp_path, BOOT_9)
    monkeypatch.setattr(deploy.targets, "free_bytes", lambda path: 20_000)
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "not enough free space" in res.output and "nothing was written" in res.output
    assert snapshot(drive) == before


def test_disk_filling_up_mid_copy_leaves_previous_firmware_in_place(
    tmp_path, firmware, path_bin, monkeypatch
):
    drive = make_drive(tmp_path, BOOT_9)
    assert run(firmware, "--drive", str(drive)).exit_code == 0
    before = snapshot(drive)
    (firmware / "code.py").write_text((firmware / "code.py").read_text() + "# v2\n")
    real = deploy.targets.write_file
    calls = []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(deploy.targets, "write_file", fill_up)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0 and "filled up" in res.output
    assert snapshot(drive) == before


def test_read_only_drive_is_refused_with_the_maintenance_hint(
    tmp_path, firmware, path_bin, monkeypatch
):
    drive = make_drive(tmp_path, BOOT_9)
    monkeypatch.setattr(deploy.targets, "drive_writable", lambda path: False)
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "cannot write" in res.output and "hold button A" in res.output
    assert snapshot(drive) == before


def test_dry_run_lists_files_and_sizes_and_writes_nothing(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive), "--dry-run")
    assert res.exit_code == 0, res.output
    assert snapshot(drive) == before
    for dest in (
        "boot.py",
        "code.py",
        "fob_board.py",
        "lib/adafruit_ssd1306.mpy",
        "lib/adafruit_register/i2c_bit.mpy",
        "lib/fob/version.mpy",
    ):
        assert dest in res.output
    assert "dry run: nothing written" in res.output
    assert "total" in res.output


def test_verification_catches_a_corrupted_copy_and_replaces_nothing(
    tmp_path, firmware, path_bin, monkeypatch
):
    drive = make_drive(tmp_path, BOOT_9)
    real = deploy.targets.write_file

    def corrupting(path, data):
        if "adafruit_ds3231" in str(path):
            data = bytes([data[0] ^ 0x20]) + data[1:]
        real(path, data)

    monkeypatch.setattr(deploy.targets, "write_file", corrupting)
    before = snapshot(drive)
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "lib/adafruit_ds3231.mpy: SHA-256 differs" in res.output
    assert snapshot(drive) == before


def test_unknown_board_id_is_refused_listing_known_boards(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9.replace("raspberry_pi_pico", "raspberry_pi_pico_w"))
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0
    assert "raspberry_pi_pico_w" in res.output
    assert "adafruit_feather_rp2040, adafruit_qtpy_rp2040, raspberry_pi_pico" in res.output
    assert "--board" in res.output
    assert not (drive / "code.py").exists()


def test_simulator_board_is_not_deployable(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    res = run(firmware, "--drive", str(drive), "--board", "sim")
    assert res.exit_code != 0 and "simulator" in res.output


def test_missing_board_id_asks_for_board_option(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, "Adafruit CircuitPython 9.0.0 on 2024-03-19; Pico\n")
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code != 0 and "--board" in res.output


def test_folder_without_boot_out_is_not_taken_for_a_circuitpy_drive(tmp_path, firmware, path_bin):
    res = run(firmware, "--drive", str(tmp_path))
    assert res.exit_code != 0 and "boot_out.txt" in res.output


def test_no_drive_found_explains_maintenance_mode(firmware, path_bin, monkeypatch):
    monkeypatch.setattr(deploy.discovery, "find_drives", lambda: [])
    res = run(firmware)
    assert res.exit_code != 0
    assert "no CIRCUITPY drive found" in res.output
    assert "hold button A" in res.output and "--via-repl" in res.output


def test_drive_is_found_among_candidates_by_its_boot_out(tmp_path, monkeypatch):
    if sys.platform != "linux":
        pytest.skip("exercises the Linux search")
    empty = tmp_path / "CIRCUITPY1"
    empty.mkdir()
    real = make_drive(tmp_path, BOOT_9)
    monkeypatch.setattr(deploy.discovery, "linux_candidates", lambda: [empty, real, real])
    assert deploy.find_drives() == [real]
    assert deploy.find_drive() == real


def test_mount_point_escapes_are_decoded():
    assert deploy.discovery.unescape_mount("/media/a\\040b/CIRCUITPY") == "/media/a b/CIRCUITPY"


def test_boot_out_parsing_reads_version_board_and_uid():
    info = parse_boot_out(BOOT_9)
    assert info.version == (9, 2, 1) and info.board_id == "raspberry_pi_pico"
    assert info.uid == "E6614103E7123456"
    assert info.board_name == "Raspberry Pi Pico with rp2040"
    beta = parse_boot_out(
        "Adafruit CircuitPython 10.0.0-beta.2 on 2025-07-01; X with rp2350\nBoard ID:x\n"
    )
    assert beta.version == (10, 0, 0) and beta.version_text == "10.0.0-beta.2"
    with pytest.raises(deploy.DeployError, match="CircuitPython"):
        parse_boot_out("MicroPython v1.22.0 on 2024-01-01\n")


# --------------------------------------------------------------------------- mpy-cross

FAKE_MPY_CROSS = """#!{python}
import sys
if sys.argv[1] == "--version":
    print({version!r})
    sys.exit(0)
args = sys.argv[1:]
out = args[args.index("-o") + 1]
name = args[args.index("-s") + 1]
src = open(args[-1], "rb").read()
open(out, "wb").write(b"C\\x06" + name.encode() + b"\\x00" + src[:8])
"""


def fake_mpy_cross(bin_dir, version, name="mpy-cross"):
    p = bin_dir / name
    p.write_text(FAKE_MPY_CROSS.format(python=sys.executable, version=version))
    p.chmod(0o755)
    return p


@pytest.fixture
def uncompiled(firmware):
    """The firmware without its committed .mpy files: only an mpy-cross can make them."""
    shutil.rmtree(firmware / "mpy")
    return firmware


def test_mpy_files_installed_with_a_matching_circuitpython_mpy_cross(
    tmp_path, uncompiled, path_bin
):
    firmware = uncompiled
    drive = make_drive(tmp_path, BOOT_9)
    assert run(firmware, "--drive", str(drive)).exit_code == 0  # an earlier .py deploy
    fake_mpy_cross(
        path_bin, "CircuitPython 9.2.1 on 2024-11-20; mpy-cross emitting mpy v6.3", "mpy-cross-cp9"
    )
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert "installing .mpy" in res.output
    for dest in expected_files(firmware, ext=".mpy"):
        assert (drive / dest).exists(), dest
    on_lib = [p.relative_to(drive).as_posix() for p in (drive / "lib").rglob("*.py")]
    assert on_lib == []  # the .py of the earlier deploy would shadow the .mpy
    ver = drive / "lib" / "fob" / "version.mpy"
    assert ver.read_bytes().startswith(b"C\x06version.py\x00")
    for keep in ("boot.py", "code.py", "fob_board.py"):
        assert (drive / keep).exists()
    assert json.loads((drive / ".otpfob").read_text())["format"] == "mpy"


def test_micropython_mpy_cross_is_not_used_for_circuitpython(tmp_path, uncompiled, path_bin):
    firmware = uncompiled
    drive = make_drive(tmp_path, BOOT_9)
    fake_mpy_cross(path_bin, "MicroPython v1.22.0 on 2024-01-01; mpy-cross emitting mpy v6.2")
    res = run(firmware, "--drive", str(drive))
    assert res.exit_code == 0, res.output
    assert "installing .py" in res.output and "MicroPython v1.22.0" in res.output
    assert (drive / "lib" / "adafruit_ssd1306.py").exists()
    assert not list(drive.rglob("*.mpy"))


def test_mpy_cross_of_another_circuitpython_major_is_not_used(tmp_path, uncompiled, path_bin):
    firmware = uncompiled
    drive = make_drive(tmp_path, BOOT_10)
    fake_mpy_cross(path_bin, "CircuitPython 9.2.1 on 2024-11-20; mpy-cross emitting mpy v6.3")
    res = run(firmware, "--drive", str(drive), "--dry-run")
    assert res.exit_code == 0
    assert "installing .py" in res.output and "CircuitPython 10.x" in res.output


def test_py_option_installs_source_even_with_mpy_cross(tmp_path, firmware, path_bin):
    drive = make_drive(tmp_path, BOOT_9)
    fake_mpy_cross(path_bin, "CircuitPython 9.2.1 on 2024-11-20; mpy-cross emitting mpy v6.3")
    res = run(firmware, "--drive", str(drive), "--py")
    assert res.exit_code == 0
    assert not list(drive.rglob("*.mpy"))


# --------------------------------------------------------------------------- over the REPL

# Stands in for mpremote: records its argv, and acts on a folder as the board's flash.
FAKE_MPREMOTE = """#!{python}
import json, os, shutil, sys
root = os.environ["FAKE_BOARD"]
with open(os.environ["FAKE_MPREMOTE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args[:1] != ["connect"] or len(args) < 3:
    sys.exit("fake mpremote: expected connect PORT ...")
if args[1] != os.environ.get("FAKE_PORT", args[1]):
    sys.exit("failed to access " + args[1])
cmds = [[]]
for a in args[2:]:
    if a == "+":
        cmds.append([])
    else:
        cmds[-1].append(a)
def remote(p):
    return os.path.join(root, p[1:])
for c in cmds:
    if c[:2] == ["fs", "cp"]:
        src, dst = [x for x in c[2:] if not x.startswith("-")]
        s = remote(src) if src.startswith(":") else src
        d = remote(dst) if dst.startswith(":") else dst
        if not os.path.isfile(s):
            sys.exit("cp: " + src + ": No such file or directory")
        if dst.startswith(":") and os.environ.get("FAKE_READONLY"):
            sys.exit("mpremote: cp: OSError: [Errno 30] EROFS")
        data = open(s, "rb").read()
        if dst.startswith(":") and os.environ.get("FAKE_CORRUPT", "@") in dst:
            data = data[:-1] + bytes([data[-1] ^ 1])
        open(d, "wb").write(data)
    elif c[:1] == ["exec"]:
        here = os.getcwd()
        os.chdir(root)
        try:
            exec(c[1], {{}})
        finally:
            os.chdir(here)
    else:
        sys.exit("fake mpremote: unsupported " + " ".join(c))
"""


@pytest.fixture
def board_fs(tmp_path, path_bin, monkeypatch):
    root = tmp_path / "board"
    root.mkdir()
    log = tmp_path / "mpremote.log"
    p = path_bin / "mpremote"
    p.write_text(FAKE_MPREMOTE.format(python=sys.executable))
    p.chmod(0o755)
    monkeypatch.setenv("FAKE_BOARD", str(root))
    monkeypatch.setenv("FAKE_MPREMOTE_LOG", str(log))
    monkeypatch.setenv("FAKE_PORT", "/dev/ttyACM0")

    def calls():
        return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []

    return types.SimpleNamespace(root=root, calls=calls)


def test_via_repl_copies_with_mpremote_and_verifies(firmware, board_fs):
    (board_fs.root / "boot_out.txt").write_text(BOOT_9)
    (board_fs.root / "vault_a.bin").write_bytes(b"stored")
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM0", "--py")
    assert res.exit_code == 0, res.output
    for dest, data in expected_files(firmware).items():
        assert (board_fs.root / dest).read_bytes() == data, dest
    assert (board_fs.root / "vault_a.bin").read_bytes() == b"stored"
    assert not list(board_fs.root.rglob("*" + deploy.TMP_SUFFIX))
    calls = board_fs.calls()
    assert all(c[:2] == ["connect", "/dev/ttyACM0"] for c in calls)
    copies = [c for c in calls if "cp" in c and any(a.startswith(":lib/fob/") for a in c)]
    assert copies, calls
    assert "verified" in res.output and "Clock not set" in res.output


def test_via_repl_refuses_old_circuitpython_before_copying(firmware, board_fs):
    (board_fs.root / "boot_out.txt").write_text(BOOT_7_3)
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM0")
    assert res.exit_code != 0 and "8.2.0 or newer" in res.output
    assert sorted(p.name for p in board_fs.root.iterdir()) == ["boot_out.txt"]
    assert not any("-f" in c for c in board_fs.calls())


def test_via_repl_refuses_another_projects_code_py(firmware, board_fs):
    (board_fs.root / "boot_out.txt").write_text(BOOT_9)
    (board_fs.root / "code.py").write_text("print('theirs')\n")
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM0")
    assert res.exit_code != 0 and "another project" in res.output
    assert (board_fs.root / "code.py").read_text() == "print('theirs')\n"


def test_via_repl_corrupted_transfer_is_caught_and_nothing_replaced(
    firmware, board_fs, monkeypatch
):
    (board_fs.root / "boot_out.txt").write_text(BOOT_9)
    monkeypatch.setenv("FAKE_CORRUPT", "lib/fob/version.mpy")
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM0")
    assert res.exit_code != 0
    assert "lib/fob/version.mpy: SHA-256 differs" in res.output
    assert not (board_fs.root / "code.py").exists()
    assert not list(board_fs.root.rglob("*" + deploy.TMP_SUFFIX))


def test_via_repl_read_only_flash_is_explained(firmware, board_fs, monkeypatch):
    (board_fs.root / "boot_out.txt").write_text(BOOT_9)
    monkeypatch.setenv("FAKE_READONLY", "1")
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM0")
    assert res.exit_code != 0 and "read-only to the REPL" in res.output


def test_via_repl_unreachable_port_is_reported(firmware, board_fs):
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM9")
    assert res.exit_code != 0
    assert "could not read boot_out.txt over the REPL" in res.output


def test_via_repl_dry_run_copies_nothing(firmware, board_fs):
    (board_fs.root / "boot_out.txt").write_text(BOOT_9)
    res = run(firmware, "--via-repl", "--repl-port", "/dev/ttyACM0", "--dry-run")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in board_fs.root.iterdir()) == ["boot_out.txt"]
    assert "dry run: nothing written" in res.output


def test_deploy_library_uses_the_repository_by_default():
    assert deploy.FIRMWARE_DIR == REPO / "firmware"
    assert deploy.BOARDS_DIR == REPO / "boards"
    assert os.path.isdir(deploy.BOARDS_DIR)


# --------------------------------------------------------------------------- the one flow


class MemoryTarget:
    """A board's flash as a dict: the whole target interface install() uses."""

    name = "memory"
    label = "memory board"
    where = "in memory"

    def __init__(self, files, free=10_000_000):
        self.files = dict(files)
        self.free = free
        self.calls = []

    def no_boot_out(self):
        return deploy.DeployError("no boot_out.txt in memory")

    def read_only(self):
        return deploy.DeployError("read-only memory")

    def read(self, rel):
        return self.files.get(rel)

    def existing(self, rels):
        return {r for r in rels if r in self.files}

    def space(self):
        return self.free, 512

    def writable(self):
        return True

    def write(self, files):
        self.calls.append("write")
        self.files.update(files)

    def read_back(self, rels):
        return [self.files.get(r) for r in rels]

    def remove(self, rels):
        for r in rels:
            self.files.pop(r, None)

    def commit(self, aside, renames, stale):
        self.calls.append("commit")
        for a in aside:
            self.files[a + ".disabled"] = self.files.pop(a)
        for tmp, dest in renames:
            self.files[dest] = self.files.pop(tmp)
        for s in stale:
            self.files.pop(s, None)
        return list(stale)


def test_one_flow_installs_through_any_target_with_the_file_interface(firmware, path_bin):
    target = MemoryTarget({"boot_out.txt": BOOT_9.encode()})
    out = []
    res = deploy.install(target, firmware_dir=firmware, echo=out.append, use_mpy=False)
    assert target.calls == ["write", "commit"]
    for dest, data in expected_files(firmware).items():
        assert target.files[dest] == data, dest
    assert not [n for n in target.files if n.endswith(deploy.TMP_SUFFIX)]
    assert json.loads(target.files[".otpfob"])["board"] == "raspberry_pi_pico"
    assert res.target == "memory" and "memory board" in out
    assert any(line.startswith("verified") and "in memory" in line for line in out)
    # The same ownership rule as on a drive: a code.py edited since is refused.
    target.files["code.py"] = b"print('edited')\n"
    with pytest.raises(deploy.DeployError, match="changed since otpfob installed it"):
        deploy.install(MemoryTarget(target.files), firmware_dir=firmware, echo=out.append)


def test_one_flow_replaces_nothing_when_the_read_back_differs(firmware, path_bin):
    class Flaky(MemoryTarget):
        def read_back(self, rels):
            return [b"x" if r.startswith("lib/fob/otp.mpy") else self.files.get(r) for r in rels]

    target = Flaky({"boot_out.txt": BOOT_9.encode()})
    with pytest.raises(deploy.DeployError, match=r"lib/fob/otp.mpy: \d+ bytes, expected"):
        deploy.install(target, firmware_dir=firmware, echo=lambda line: None)
    assert target.calls == ["write"]  # never committed
    assert sorted(target.files) == ["boot_out.txt"]  # staged files removed


def test_the_slow_steps_of_a_deploy_show_progress_while_they_run(firmware, path_bin):
    class Watched(MemoryTarget):
        def write(self, files):
            seen.append(("write while", showing[-1] if showing else None))
            super().write(files)

    seen, showing = [], []

    @contextlib.contextmanager
    def progress(text):
        showing.append(text)
        yield
        showing.pop()

    target = Watched({"boot_out.txt": BOOT_9.encode()})
    deploy.install(target, firmware_dir=firmware, echo=lambda line: None, progress=progress)
    assert seen and seen[0][1].startswith("copying %d files" % (len(expected_files(firmware)) + 1))
    assert not showing  # every step's progress ended with it
    # Without a terminal the command shows none (its output stays plain for logs).
    assert deploy.command.spinner() is None


def test_deploy_writes_the_pystack_and_safe_mode_settings_and_keeps_the_drives_others(
    tmp_path, firmware
):
    # CircuitPython 8 and 9 give the RP2040 1536 bytes of Python call stack, less than an
    # import's staged part needs ("pystack exhausted" on 8.2.6 and 9.2.8, make test-realcp).
    # From 10.3.0 CircuitPython reads its safe-mode wait from settings.toml: without it, a
    # deep-sleep wake (a reset on the RP2040) waits 1 s before the code (docs/power.md).
    drive = make_drive(tmp_path, BOOT_9)
    (drive / "settings.toml").write_text(
        'CIRCUITPY_WIFI_SSID = "home"\nCIRCUITPY_PYSTACK_SIZE = 1024\n# mine\n'
        "CIRCUITPY_SAFE_MODE_DELAY = 2.5\n"
    )
    assert run(firmware, "--drive", str(drive), "--py").exit_code == 0
    text = (drive / "settings.toml").read_text()
    assert 'CIRCUITPY_WIFI_SSID = "home"' in text and "# mine" in text
    assert "CIRCUITPY_PYSTACK_SIZE = 4096" in text and "= 1024" not in text
    assert "CIRCUITPY_SAFE_MODE_DELAY = 0\n" in text and "= 2.5" not in text
    # Deploying again changes nothing more.
    assert run(firmware, "--drive", str(drive), "--py").exit_code == 0
    assert (drive / "settings.toml").read_text() == text
    # A drive without one gets ours.
    fresh = make_drive(tmp_path / "b", BOOT_9) if (tmp_path / "b").mkdir() is None else None
    assert run(firmware, "--drive", str(fresh), "--py").exit_code == 0
    assert (fresh / "settings.toml").read_bytes() == (firmware / "settings.toml").read_bytes()


def test_via_repl_without_mpremote_names_the_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mpremote" else real(name, *a)
    )
    with pytest.raises(deploy.DeployError, match=r"pip install 'otpfob\[repl\]'"):
        deploy.Mpremote("/dev/ttyACM0")


def test_the_extras_the_messages_name_are_declared():
    from pathlib import Path

    import tomllib

    repo = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((repo / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(r.startswith("mpremote") for r in extras["repl"])
    assert any(r.startswith("keyring") for r in extras["keyring"])
    assert any(r.startswith("pykeepass") for r in extras["keepass"])
