"""otpfob host tools: CLI, transport, protocol client, parsers, deploy and simulator."""

__version__ = "0.1.0"
