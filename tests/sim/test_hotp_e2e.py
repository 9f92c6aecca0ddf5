"""HOTP on the simulated fob, end to end: `otpfob add --hotp`, the holder's press on the
fob for the next code, `otpfob code` with a press, and the counter surviving a restart."""

import json

import pyotp
from cli_runner import run_otpfob

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def test_hotp_codes_on_the_fob_and_to_a_host_each_once(sim_factory, tmp_path):
    state = tmp_path / "state"
    fob = sim_factory(state, demo=True)
    r = run_otpfob(fob.data_url, "add", "Bank:card", SECRET, "--hotp", "--counter", "4")
    assert r.returncode == 0, r.stderr
    hotp = pyotp.HOTP(SECRET)
    # Back on the code screen once the add's question has gone (a busy machine is slow).
    fob.wait_for(lambda s: s["screen"] == "code", what="the code screen after the add")
    # The second entry: Bank:card (a first press only wakes a panel that went dark while
    # a busy machine ran the add).
    for _ in range(3):
        fob.press("A")
        st = fob.status()
        if st["label"] == "Bank:card":
            break
    assert st["label"] == "Bank:card" and st["code"] is None, st
    fob.press("C")  # the holder's next code
    assert fob.status()["code"] == hotp.at(4)
    # A host gets the next one, with a press (the simulated holder gives it).
    out = json.loads(run_otpfob(fob.data_url, "--json", "code", "card").stdout)
    assert (out[0]["counter"], out[0]["code"]) == (5, hotp.at(5))
    fob.stop()
    # The counter is on flash: after a restart the next code is the next one still.
    fob = sim_factory(state)
    fob.press("A")
    fob.press("C")
    assert fob.status()["code"] == hotp.at(6)
