"""The one base class of every error otpfob expects, and the exit statuses they map to.

A layer raises its own subclass (the transport's TransportError, the client's FobError,
deploy's DeployError, ...) carrying the exit status of its kind; the command line turns
any of them into one line on stderr and that status, in one place (cli/util.explain).
Nothing here imports more than the standard library, so every layer can use it.
"""

# Exit statuses (docs/admin.md lists them for scripts).
EXIT_OK = 0
EXIT_ERROR = 1  # anything else that went wrong
EXIT_USAGE = 2  # the command line itself is wrong
EXIT_REFUSED = 3  # refused on the fob, or not confirmed at the prompt / under --json
EXIT_NO_FOB = 4  # no fob found, the port cannot be opened, or the fob does not answer
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class OtpfobError(Exception):
    """An error the user can act on. `exit_status` says which kind (EXIT_*); `fob_code` is
    the fob's stable error code when the fob refused a request (docs/protocol.md), else
    None."""

    exit_status: int = EXIT_ERROR
    fob_code: str | None = None

    def __init__(self, message: str = "", exit_status: int | None = None) -> None:
        Exception.__init__(self, message)
        if exit_status is not None:
            self.exit_status = exit_status
