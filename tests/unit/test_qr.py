import io
import random

import pytest
import segno
from PIL import Image, ImageDraw

from otpfob import migration
from otpfob.otpauth import Account, build_uri
from otpfob.qr import QrError, read_image

URI = "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"


def qr_image(text, scale=4, border=4):
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=border)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def test_plain_generated_qr_is_read(tmp_path):
    path = tmp_path / "code.png"
    qr_image(URI).save(path)
    assert read_image(path) == [URI]


def test_screenshot_like_image_with_noise_and_colour(tmp_path):
    rng = random.Random(1)
    canvas = Image.new("RGB", (900, 700), (40, 60, 120))
    draw = ImageDraw.Draw(canvas)
    for _ in range(300):
        x, y = rng.randrange(900), rng.randrange(700)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle([x, y, x + rng.randrange(3, 40), y + rng.randrange(3, 20)], fill=colour)
    draw.text((20, 20), "Scan this code with your authenticator app", fill=(255, 255, 255))
    # The code sits on a white card, as web pages show it.
    code = qr_image(URI, scale=3, border=2)
    card = Image.new("RGB", (code.width + 30, code.height + 30), (250, 250, 250))
    card.paste(code, (15, 15))
    canvas.paste(card, (470, 260))
    path = tmp_path / "screenshot.jpg"
    canvas.save(path, quality=85)
    assert read_image(path) == [URI]


def test_several_codes_in_one_image_are_all_read(tmp_path):
    accounts = [Account("user%d" % i, bytes(range(i, i + 10)), issuer="Svc") for i in range(3)]
    uris = migration.export_uris(accounts, per_code=1, batch_id=9)
    canvas = Image.new("RGB", (1200, 450), "white")
    images = [qr_image(u) for u in uris]
    for i, img in enumerate(images):
        canvas.paste(img, (20 + i * 400, 20 + (i % 2) * 40))
    path = tmp_path / "export.png"
    canvas.save(path)
    texts = read_image(path)
    assert sorted(texts) == sorted(uris)
    merged, _ = migration.merge([migration.decode_uri(t) for t in texts])
    assert merged == accounts


def test_qr_of_built_uri_round_trips(tmp_path):
    a = Account("bob", b"0123456789abcdef", issuer="Q&A", algorithm="SHA256", digits=8)
    path = tmp_path / "b.png"
    qr_image(build_uri(a)).save(path)
    assert read_image(path) == [build_uri(a)]


def test_image_without_qr_is_a_clear_error(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(path)
    with pytest.raises(QrError, match="no QR code found"):
        read_image(path)


def test_missing_and_non_image_files_are_clear_errors(tmp_path):
    with pytest.raises(QrError, match="no such file"):
        read_image(tmp_path / "nope.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(QrError, match="not an image"):
        read_image(text)
