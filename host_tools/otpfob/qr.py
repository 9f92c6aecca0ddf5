"""QR codes from image files (screenshots, photos, exports) with zxing-cpp."""

from .errors import OtpfobError


class QrError(OtpfobError, ValueError):
    """An image that cannot be read or holds no QR code."""


def read_image(path, name=None):
    """Texts of every QR code in the image at `path` (a file name or a binary file object;
    `name` is what messages call it), in reading order (top to bottom)."""
    # Imported here: Pillow and zxing-cpp cost tens of milliseconds of CLI start-up.
    from PIL import Image, UnidentifiedImageError

    name = name or path
    try:
        with Image.open(path) as img:
            img.load()
            image = img.convert("RGB") if img.mode not in ("L", "RGB") else img.copy()
    except FileNotFoundError:
        raise QrError("%s: no such file" % name) from None
    except UnidentifiedImageError:
        raise QrError("%s: not an image file Pillow can read" % name) from None
    except OSError as exc:
        raise QrError("%s: cannot read image (%s)" % (name, exc)) from None
    return read_codes(image, name)


def read_screen():
    """Texts of the QR codes on this computer's screen (every monitor), as token vendors'
    provisioning tools read them: a screenshot with mss, decoded with zxing-cpp."""
    from PIL import Image

    try:
        import mss
        import mss.exception
    except ImportError:
        raise QrError("reading the screen needs the mss package (pip install mss)") from None
    try:
        # mss 10 names the class MSS; older releases mss.mss.
        with (getattr(mss, "MSS", None) or mss.mss)() as grabber:
            shot = grabber.grab(grabber.monitors[0])
    except mss.exception.ScreenShotError as exc:
        raise QrError(
            "cannot take a screenshot (%s); save the QR code as an image and give "
            "it with --qr" % (str(exc).splitlines()[0] if str(exc) else "no display")
        ) from None
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
    return read_codes(image, "the screen")


def read_codes(image, name):
    """Texts of the QR codes in a Pillow image (RGB or L)."""
    import zxingcpp

    codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    if not codes:
        # A small QR code in a big photo is sometimes found only on a grey version.
        codes = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    if not codes:
        raise QrError("%s: no QR code found in the image (try a sharper or larger crop)" % name)

    def position(code):
        top_left = code.position.top_left
        return (top_left.y, top_left.x)

    texts = []
    for code in sorted(codes, key=position):
        if code.text not in texts:
            texts.append(code.text)
    return texts
