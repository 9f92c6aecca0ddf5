# The fob's own preferences, one "key=value" line each in a small file next to the vault.
# A missing, unreadable or malformed file gives the defaults; a failed write (flash
# read-only while the drive is mounted on a host) keeps the new values for this session.

FILE_NAME = "fob_settings.txt"
IDLE_MIN = 5
IDLE_MAX = 3600


def join(root, name):
    if not root or root.endswith("/"):
        return (root or "") + name
    return root + "/" + name


class Settings:
    def __init__(self, root="/"):
        self.path = join(root, FILE_NAME)
        self.privacy = False
        self.idle_timeout = 30
        # Typing the code as a USB keyboard (off by default: boot.py then leaves the
        # keyboard interface out, so a fob never types unless its owner asked for it), in
        # the host's keyboard layout. The layouts are checked where they are used (fob/
        # hidtype.py, fob/prefs.py): this module stays in RAM for good.
        self.typing = False
        self.layout = "us"
        # Codes to a host without a press (off by default: a host gets a code only when
        # the holder agrees on the fob).
        self.usb_codes = False
        self.saved = True
        self.load()

    def load(self):
        try:
            with open(self.path, "r") as f:
                text = f.read()
        except OSError:
            return
        # A file cut short by a power cut keeps the codes hidden: privacy is off only
        # when the file says so in a whole line.
        self.privacy = True
        for line in text.split("\n"):
            eq = line.find("=")
            if eq < 0:
                continue
            key = line[:eq].strip()
            value = line[eq + 1:].strip()
            if key == "privacy":
                self.privacy = value != "0"
            elif key == "idle_timeout":
                try:
                    n = int(value)
                except ValueError:
                    continue
                if IDLE_MIN <= n <= IDLE_MAX:
                    self.idle_timeout = n
            elif key == "typing":
                self.typing = value == "1"
            elif key == "usb_codes":
                self.usb_codes = value == "1"
            elif key == "layout" and value:
                self.layout = value

    def save(self):
        text = "privacy=%d\nidle_timeout=%d\ntyping=%d\nlayout=%s\nusb_codes=%d\n" % (
            1 if self.privacy else 0, self.idle_timeout, 1 if self.typing else 0, self.layout,
            1 if self.usb_codes else 0)
        try:
            with open(self.path, "w") as f:
                f.write(text)
            self.saved = True
        except OSError:
            self.saved = False
        return self.saved

    def set_privacy(self, on):
        self.privacy = bool(on)
        return self.save()

    def set_idle_timeout(self, seconds):
        seconds = int(seconds)
        if not IDLE_MIN <= seconds <= IDLE_MAX:
            raise ValueError("idle timeout must be %d-%d seconds" % (IDLE_MIN, IDLE_MAX))
        self.idle_timeout = seconds
        return self.save()
