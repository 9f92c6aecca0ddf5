"""The deployed firmware on real CircuitPython (8.2.6, 9.2.8, 10.2.1 in an emulated
RP2040), provisioned with the project's own CLI: the checks of issue #19's tier. Speed is
printed (the summary at the end, and python -m bench.realcp), not asserted."""

from otpfob.testing import realcp


def test_the_run_met_no_error(run):
    assert not run["errors"], "\n".join(run["errors"])


def test_the_firmware_boots_to_its_first_screen_and_answers_info(run):
    assert run.get("boot_s") is not None
    assert run["ops"]["info at boot"]["returncode"] == 0


def test_an_import_of_200_accounts_in_one_command_is_listed_whole_in_order(run):
    assert run["ops"]["import"]["returncode"] == 0
    assert run["listed"] == realcp.ACCOUNTS
    assert run["list_matches"]


def test_every_code_of_200_accounts_matches_pyotp_at_the_fobs_time(run):
    assert run["codes"] == realcp.ACCOUNTS
    assert run["code_mismatches"] == []


def test_delete_and_rename_change_exactly_those_accounts(run):
    assert run["edits_ok"]


def test_a_password_is_set_changed_and_every_code_still_right_then_reset_erases(run):
    assert run["codes_with_password_mismatches"] == []
    assert run["after_reset"] == 0


def test_the_watchdog_never_fires(run):
    assert run["watchdog_fired"] == [], (
        "the watchdog fired (a real RP2040 resets there) at %s emulated s; longest passes: %s"
        % (run["watchdog_fired"], {k: v["longest_pass"] for k, v in run["ops"].items()})
    )


def test_a_fob_asleep_for_a_minute_stays_dark(run):
    light = run["light"]
    assert light["asleep_s"] >= realcp.ASLEEP
    assert light["lit_while_asleep"] == []


def test_a_press_shows_the_right_code_after_light_and_deep_sleep_and_never_a_wrong_one(run):
    for kind in ("light", "deep"):
        w = run[kind]
        assert w["press_to_code_s"] > 0, kind
        assert w["wrong_codes"] == [], (kind, w["wrong_codes"])
    # Deep sleep ended in the firmware's own reset (a wake is a reset on the RP2040).
    assert run["deep"]["reset_after_press_s"] is not None


def test_the_fob_reports_its_heap_and_low_water_mark(run):
    for when, h in run["heap"].items():
        assert h is not None, when
        assert 0 < h["low"] <= h["free"], (when, h)


def test_no_pass_of_the_loop_reaches_a_second_in_any_command(run):
    # The watchdog fires at 8 s; long work (an import's commit, a delete's rewrite, a
    # clock set waiting for its second) is made a step a pass instead (fob/wire.py WORK).
    over = {name: op["over_1s"] for name, op in run["ops"].items() if op["over_1s"]}
    assert over == {}, over


# The heap the firmware keeps free at its fullest moment (the low-water mark after a
# collection: a whole import staged, a vault write with the old and new records in RAM),
# 200 accounts on the fob. What a pass allocates and drops between collections needs room
# on top of that.
HEAP_MARGIN = 8 * 1024


def test_the_heap_keeps_a_margin_through_a_200_account_import(run):
    low = run["heap"]["after the import"]["low"]
    assert low >= HEAP_MARGIN, run["heap"]


def test_the_heap_keeps_a_margin_through_a_delete_and_a_rename_at_200_after_all_codes(run):
    # The codes of all 200 accounts come first: what they load must not be what a change
    # then misses (on 9.2.8 a rename ran out of memory with SHA-256 and SHA-512 kept).
    low = run["heap"]["after the edits"]["low"]
    assert low >= HEAP_MARGIN, run["heap"]
