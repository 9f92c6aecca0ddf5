"""The wheel and the sdist, installed into fresh virtualenvs as an admin would, then used
from a folder that has nothing to do with the repository.

They install offline from the wheelhouse `make setup` fills (.venv/wheelhouse), so the
only thing under test is what the package carries.
"""

import hashlib
import importlib.util
import json
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

from otpfob.sim.harness import SimProcess
from otpfob.testing import packaging

REPO = Path(__file__).resolve().parents[2]
SECRET = "JBSWY3DPEHPK3PXP"
BOOT_9 = (
    "Adafruit CircuitPython 9.2.1 on 2024-11-20; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\nUID:E6614103E7123456\n"
)
# Where the installed package says its resources are, as JSON.
WHERE = (
    "import json, otpfob, otpfob.resources as r; print(json.dumps({'package': "
    "otpfob.__file__, 'bundled': r.bundled(), 'firmware': str(r.firmware_dir()), "
    "'boards': str(r.boards_dir()), 'drivers': str(r.drivers_dir()), "
    "'versions': r.driver_versions()}))"
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    return packaging.build(tmp_path_factory.mktemp("dist") / "out")


@pytest.fixture
def elsewhere(tmp_path):
    """A working folder unrelated to the repository."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def installed(tmp_path, target):
    env_dir = packaging.fresh_venv(tmp_path / "venv")
    packaging.install(env_dir, target)
    return env_dir


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory, dists):
    """A fresh venv with the wheel (and its requirements from the lock) installed."""
    return installed(tmp_path_factory.mktemp("wheel"), dists[0])


def run(env_dir, cwd, *args, input=None):
    return subprocess.run(
        [str(packaging.bin_path(env_dir, "otpfob"))] + list(args),
        cwd=cwd,
        env=packaging.clean_env(),
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )


def where(env_dir, cwd):
    out = subprocess.run(
        [str(packaging.bin_path(env_dir, "python")), "-c", WHERE],
        cwd=cwd,
        env=packaging.clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def digests(root):
    root = Path(root)
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def source_digests(root):
    return {k: v for k, v in digests(root).items() if not k.split("/")[-1].startswith(".")}


def driver_pins():
    pins = {}
    for line in (REPO / "requirements-drivers.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("adafruit-circuitpython-"):
            name, version = line.split("==")
            pins[name] = version
    return pins


def make_drive(root):
    root.mkdir()
    (root / "boot_out.txt").write_text(BOOT_9)
    return root


def test_installed_wheel_carries_firmware_boards_and_the_pinned_drivers(wheel_env, elsewhere):
    env_dir = wheel_env
    info = where(env_dir, elsewhere)
    assert info["bundled"] is True
    assert Path(info["package"]).is_relative_to(env_dir)  # not the checkout
    assert source_digests(info["firmware"]) == source_digests(REPO / "firmware")
    assert source_digests(info["boards"]) == source_digests(REPO / "boards")
    assert info["versions"] == driver_pins()
    # Byte for byte the driver files the tests run against (installed by make setup).
    drivers = Path(info["drivers"])
    ssd1306 = importlib.util.find_spec("adafruit_ssd1306").origin
    register = importlib.util.find_spec("adafruit_register").submodule_search_locations[0]
    assert (drivers / "adafruit_ssd1306.py").read_bytes() == Path(ssd1306).read_bytes()
    assert digests(drivers / "adafruit_register") == digests(register)


def test_wheel_and_sdist_carry_the_licence_and_the_third_party_notices(dists, wheel_env, elsewhere):
    wheel, sdist = dists
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        for rel in ("LICENSE", "THIRD_PARTY_NOTICES.md", "LICENSES/Apache-2.0.txt"):
            # PEP 639: the licence files in the wheel's metadata, and in the package beside
            # the firmware and drivers they cover (where the CIRCUITPY zip takes them).
            licensed = [n for n in names if n.endswith(".dist-info/licenses/" + rel)]
            assert licensed and z.read(licensed[0]) == (REPO / rel).read_bytes(), rel
            assert z.read("otpfob/bundled/" + rel) == (REPO / rel).read_bytes(), rel
    assert "License-Expression: MIT" in meta
    with tarfile.open(sdist) as t:
        top = t.getnames()[0].split("/")[0]
        for rel in ("LICENSE", "THIRD_PARTY_NOTICES.md", "LICENSES/Apache-2.0.txt"):
            assert t.extractfile(top + "/" + rel).read() == (REPO / rel).read_bytes(), rel
    # The installed package finds them for the zip it can build.
    out = subprocess.run(
        [
            str(packaging.bin_path(wheel_env, "python")),
            "-c",
            "import otpfob.resources as r; print(r.notice_files()['LICENSE'])",
        ],
        cwd=elsewhere,
        env=packaging.clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).read_text().startswith("MIT License")


def test_installed_wheel_carries_the_admin_page_and_its_npm_files(wheel_env, elsewhere):
    # `otpfob web --export` writes what `otpfob web` serves: from the wheel alone.
    res = run(wheel_env, elsewhere, "web", "--export", "site")
    assert res.returncode == 0, res.stderr
    site = elsewhere / "site"
    vendor = json.loads((REPO / "web" / "vendor.json").read_text())["files"]
    for name, rel in vendor.items():
        assert (site / "vendor" / name).read_bytes() == (REPO / "node_modules" / rel).read_bytes()
    for rel in ("index.html", "fob.html", "js/main.js", "fob/worker.js"):
        assert (site / rel).read_bytes() == (REPO / "web" / rel).read_bytes(), rel
    assert (site / "fob/py/fob/app.py").read_bytes() == (
        REPO / "firmware/lib/fob/app.py"
    ).read_bytes()
    assert (site / "fob/py/adafruit_ssd1306.py").is_file()


def test_installed_wheel_runs_sim_info_add_with_code_check_and_deploy_elsewhere(
    tmp_path, wheel_env, elsewhere
):
    env_dir = wheel_env
    otpfob = str(packaging.bin_path(env_dir, "otpfob"))
    with SimProcess(
        tmp_path / "state",
        demo=True,
        autopress=True,
        command=[otpfob, "sim"],
        cwd=elsewhere,
        env=packaging.clean_env(),
    ) as fob:
        r = run(env_dir, elsewhere, "--port", fob.data_url, "--json", "info")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["accounts"] == 1  # the demo account
        r = run(env_dir, elsewhere, "--port", fob.data_url, "add", "GitHub:octocat", SECRET)
        assert r.returncode == 0, r.stdout + r.stderr
        # The check computed the code with the firmware's engine carried by the package.
        assert "matches" in r.stdout and "not found" not in r.stdout + r.stderr

    drive = make_drive(tmp_path / "CIRCUITPY")
    r = run(env_dir, elsewhere, "deploy", "--drive", str(drive), "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dry run: nothing written" in r.stdout
    # The wheel's committed .mpy files for the drive's major (9.x), drivers included.
    assert "installing .mpy" in r.stdout and "CircuitPython 9." in r.stdout
    for dest in ("lib/fob/otp.mpy", "lib/adafruit_ssd1306.mpy", "fob_board.py"):
        assert dest in r.stdout
    r = run(env_dir, elsewhere, "deploy", "--drive", str(drive), "--py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (drive / "code.py").read_bytes() == (REPO / "firmware" / "code.py").read_bytes()
    assert (drive / "fob_board.py").read_bytes() == (
        REPO / "boards" / "raspberry_pi_pico.py"
    ).read_bytes()
    assert (drive / "lib" / "fob" / "otp.py").read_bytes() == (
        REPO / "firmware" / "lib" / "fob" / "otp.py"
    ).read_bytes()


def test_installed_sdist_builds_the_same_package_offline_and_deploys(tmp_path, dists, elsewhere):
    wheel, sdist = dists
    env_dir = installed(tmp_path, sdist)  # built in pip's isolated environment
    info = where(env_dir, elsewhere)
    assert info["bundled"] is True
    bundled = Path(info["firmware"]).parent
    from_sdist = digests(bundled)
    with zipfile.ZipFile(wheel) as z:
        from_wheel = {
            n[len("otpfob/bundled/") :]: hashlib.sha256(z.read(n)).hexdigest()
            for n in z.namelist()
            if n.startswith("otpfob/bundled/") and not n.endswith("/")
        }
    assert from_sdist == from_wheel
    drive = make_drive(tmp_path / "CIRCUITPY")
    r = run(env_dir, elsewhere, "deploy", "--drive", str(drive))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (drive / "lib" / "fob" / "otp.mpy").read_bytes() == (
        REPO / "firmware" / "mpy" / "cp9" / "lib" / "fob" / "otp.mpy"
    ).read_bytes()


def test_pip_install_of_a_checkout_gathers_the_pinned_drivers_in_its_isolated_build(
    tmp_path, elsewhere
):
    # `pip install .` from a clone: the build downloads the pinned driver wheels (here
    # from the offline wheelhouse, as pip's settings say) and bundles their files.
    source = packaging.copy_source(tmp_path / "clone")
    env_dir = installed(tmp_path, source)
    info = where(env_dir, elsewhere)
    assert info["bundled"] is True and info["versions"] == driver_pins()
    drivers = Path(info["drivers"])
    ds3231 = importlib.util.find_spec("adafruit_ds3231").origin
    assert (drivers / "adafruit_ds3231.py").read_bytes() == Path(ds3231).read_bytes()
    assert not (source / "drivers").exists()  # nothing gathered into the source tree
    assert not (source / "host_tools" / "otpfob" / "bundled").exists()
    r = run(env_dir, elsewhere, "deploy", "--drive", str(make_drive(tmp_path / "D")), "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr


def test_install_requirements_are_ranges_that_the_lock_satisfies():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    lock = {}
    for line in (REPO / "requirements-host.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            lock[re.sub(r"[-_.]+", "-", req.name).lower()] = next(iter(req.specifier)).version
    for dep in deps:
        req = Requirement(dep)
        assert not any(s.operator == "==" for s in req.specifier), dep
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in lock, "%s is not pinned in requirements-host.txt" % req.name
        assert req.specifier.contains(lock[name]), "%s does not allow the lock's %s" % (
            dep,
            lock[name],
        )


def test_installed_wheel_carries_unifont_with_its_licence_and_draws_a_label(wheel_env, elsewhere):
    if not (Path("/usr/share/fonts/opentype/unifont") / "unifont_upper.otf").is_file():
        pytest.skip("Debian's fonts-unifont is not installed (make setup installs it)")
    info = where(wheel_env, elsewhere)
    fonts = Path(info["package"]).parent / "bundled" / "fonts"
    assert (fonts / "unifont.otf").is_file() and (fonts / "unifont_upper.otf").is_file()
    assert "GPL-2+" in (fonts / "COPYRIGHT").read_text()
    res = run(wheel_env, elsewhere, "add", "Банк:Олена", "--preview")
    assert res.returncode == 0, res.stderr
    assert "as the fob draws it" in res.stdout and "█" in res.stdout
