"""Helpers that run firmware code under real MicroPython interpreters (tests and benchmarks)."""
