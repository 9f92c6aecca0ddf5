# Update mode: a button held at power-on asks the holder to erase the accounts and the
# password; only after that erase does the fob restart with the USB drive and the REPL on
# (boot.py reads the flag set here, for that one boot). Loaded only when a button is held.
import time

# The question stands this long (seconds); then the fob boots on as normal.
SECONDS = 30
# boot.py's flag for one unlocked boot: the microcontroller.nvm byte and its value.
NVM_MAINTENANCE = 0
MAINTENANCE = 0xA5


def ask(ui):
    """Puts the question up; returns its deadline."""
    ui.ask("Update mode: erase all accounts and unlock USB?")
    return time.monotonic() + SECONDS


def step(app, deadline):
    """One pass while the question stands; returns the deadline, or None once settled."""
    ui = app.ui
    if ui.answer is None and time.monotonic() < deadline:
        return deadline
    if not ui.answer:
        ui.cancel()
        return None
    if app.buttons.any_down():
        # The yes is a hold: erase once the hand is off, or the restart would find the
        # button held and ask again.
        return deadline
    from fob.guard import Guard

    # Erased first, flag second: a power cut in between leaves a locked, empty fob.
    Guard(app.vault.root, app.vault.fs).erase_all(app.vault)
    import microcontroller

    microcontroller.nvm[NVM_MAINTENANCE] = MAINTENANCE
    microcontroller.reset()
    return None
