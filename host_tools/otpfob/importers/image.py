"""Images holding QR codes: screenshots or photos of a service's setup code or of a Google
Authenticator export. Each code's text is read as a URI."""

from . import uri_list

NAME = "image"
TITLE = "images of QR codes (PNG, JPEG, GIF, BMP, TIFF, WebP)"

MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def is_image(data):
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return any(data.startswith(m) for m in MAGIC)


def detect(source):
    return is_image(source.data)


def read(source, found):
    import io

    from ..qr import QrError, read_image
    from .base import ImportFileError

    try:
        texts = read_image(io.BytesIO(source.data), source.where)
    except QrError as exc:
        raise ImportFileError(str(exc)) from None
    for n, text in enumerate(texts, 1):
        uri_list.take(found, text, "%s QR %d" % (source.where, n))
