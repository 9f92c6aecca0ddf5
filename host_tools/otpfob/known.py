"""What this computer remembers of each fob it has seen, by serial number: whether it had
a password. A fob that had one and now has none may have been reset by someone else, so
otpfob stops and says so instead of going on as if nothing happened."""

import json
import os
from pathlib import Path

from .calibration import data_dir

FILE = "fobs.json"


class KnownFobs:
    def __init__(self, path=None):
        self.path = Path(path) if path is not None else data_dir() / FILE

    def _load(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def had_password(self, serial) -> bool:
        entry = self._load().get(serial or "")
        return isinstance(entry, dict) and entry.get("password") is True

    def record(self, serial, password: bool) -> None:
        """Remember whether the fob has a password now (written atomically)."""
        if not serial:
            return
        data = self._load()
        entry = data.get(serial)
        if isinstance(entry, dict) and entry.get("password") is password:
            return
        data[serial] = {"password": password}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.path)
