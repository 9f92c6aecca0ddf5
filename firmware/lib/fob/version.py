# Firmware identity, reported by the protocol's info reply.
FIRMWARE = "0.1.0"
PROTOCOL = 2
# A DS3231 that reads earlier than this has surely lost its time (2026-11-01 00:00 UTC).
BUILD_EPOCH = 1793491200
