"""The code check after an account is added: the fob's code against this computer's.

The host computes the code with the firmware's own OTP engine, so a mismatch means the fob
stored something else (or its clock is off), not that two implementations differ. Used by
`otpfob add` and `otpfob fleet provision`; it needs no CLI.
"""

import time


def group_code(code):
    """A code as people read it: "123 456", "1234 5678"; "-" for none."""
    if code is None:
        return "-"
    if len(code) == 6:
        return code[:3] + " " + code[3:]
    if len(code) == 8:
        return code[:4] + " " + code[4:]
    if len(code) == 7:
        return code[:3] + " " + code[3:]
    return code


def firmware_engine():
    """The firmware's own OTP engine, so the host checks codes with the code the fob runs."""
    try:
        from fob import otp  # noqa: F401 - already importable (tests, an installed firmware lib)

        return otp
    except ImportError:
        pass
    from .resources import firmware_dir, use_firmware

    if (firmware_dir() / "lib" / "fob" / "otp.py").is_file():
        use_firmware()
        try:
            from fob import otp

            return otp
        except ImportError:
            return None
    return None


def expected_codes(account, times):
    otp = firmware_engine()
    if otp is None:
        return None
    digits = 5 if account.algorithm == "STEAM" else account.digits
    return {
        otp.totp(
            account.secret,
            int(t),
            digits=digits,
            period=account.period,
            algorithm=account.algorithm.lower(),
        )
        for t in times
    }


def added(client, account, overwrite=False, strips=None, max_line=2048):
    """Add `account` (with its label strips, {text: bytes}) and check the code the fob gives
    in its reply against this computer's own computation. Returns (reply, ok, message); ok
    is None when nothing could check."""
    before = time.time()
    if strips:
        reply = client.add(account, overwrite=overwrite, strips=strips, max_line=max_line)
    else:
        reply = client.add(account, overwrite=overwrite)
    after = time.time()
    ok, message = verify_code(account, reply, before, after)
    return reply, ok, message


def clock_drift(fob_time, before, after):
    """How far the fob's reading (whole seconds: t stands for somewhere in [t, t+1)) lies
    outside [before, after], the span of the request on this computer's clock; 0 inside.
    The fob read its clock somewhere in that span, which holds the holder's press and can
    be many seconds long, so its middle is no estimate of when."""
    mid = fob_time + 0.5
    if mid > after:
        return mid - after
    if mid < before:
        return mid - before
    return 0.0


def verify_code(account, reply, before, after):
    """Compare the code in an add's reply (computed by the fob when it stored the account,
    between `before` and `after` on this computer's clock) with the host's own.

    Returns (ok, message). Codes computed just before the request and just after the reply
    are both accepted, so a period boundary between the two is not a mismatch.
    """
    got = reply.get("code")
    if got is None:
        if reply.get("code_error") == "clock_not_set" or "code" in reply:
            return False, (
                "the fob's clock is not set, so its code could not be checked; "
                "run `otpfob time set`"
            )
        return None, "the fob's firmware gives no code with an add, so it was not checked"
    expected = expected_codes(account, (before - 1, before, after, after + 1))
    if expected is None:
        return None, (
            "the firmware's OTP engine (firmware/lib/fob/otp.py) was not found, so "
            "the code was not checked; the fob shows %s" % group_code(got)
        )
    strict = expected_codes(account, (before, after))
    if got in strict:
        return True, "the fob's code %s matches" % group_code(got)
    fob_time = reply.get("time")
    if fob_time is not None:
        drift = clock_drift(fob_time, before, after)
        if abs(drift) >= 1.5:
            return False, (
                "the fob's code %s differs from this computer's %s: the fob's clock "
                "is off by %+.0f s; run `otpfob time set`"
                % (group_code(got), group_code(sorted(strict)[0]), drift)
            )
    if got in expected:
        return True, "the fob's code %s matches (within a second)" % group_code(got)
    return False, (
        "the fob's code %s differs from this computer's %s for the same secret"
        % (group_code(got), group_code(sorted(strict)[0]))
    )
