"""The photo pipeline: what a resident's photo becomes before anyone else can see it.

Every stored file is re-encoded from pixels alone: no EXIF (GPS, camera), XMP, ICC profile or
comment survives; the original bytes are never stored; bombs and non-photos are refused with a
clear message before any pixel is decoded, and a failed report leaves no file behind.
"""

import errno
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from PIL import Image, ImageCms, ImageFile

from reports.models import Photo, Report, TriageEvent
from reports.photos import CleanPhoto, PhotoRejected, accepted_formats, clean_photo
from reports.services import OutsideServiceArea

from ..factories import make_report

CAMERA_MAKE = "ConviveTestCam Industries"
CAMERA_MODEL = "Ceiba-7 Pro"
TAKEN_AT = "2024:03:09 21:47:05"
GPS_DATUM = "WGS-84-CONVIVE-TEST"
COMMENT = b"taken from the window of Maria's house"
XMP_SECRET = "maria-lives-here"
XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="{XMP_SECRET}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()
# The GPS IFD pointer entry (tag 0x8825, LONG, count 1), in either TIFF byte order.
GPS_POINTERS = (b"\x25\x88\x04\x00\x01\x00\x00\x00", b"\x88\x25\x00\x04\x00\x00\x00\x01")
METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile")
HEIF_WRITABLE = "HEIF" in Image.SAVE and "HEIF" in accepted_formats()

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
NAMES = {RED: "R", GREEN: "G", BLUE: "B", WHITE: "W"}


# --- building uploads ---------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def upload(data: bytes, name: str = "IMG_20240309_casa_de_maria.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def quadrants(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Red | green over blue | white: any rotation or mirror shows in the corners."""
    w, h = size
    image = Image.new("RGB", size, WHITE)
    image.paste(RED, (0, 0, w // 2, h // 2))
    image.paste(GREEN, (w // 2, 0, w, h // 2))
    image.paste(BLUE, (0, h // 2, w // 2, h))
    return image


def corners(image: Image.Image) -> str:
    """The colour of each quadrant's centre, top-left, top-right, bottom-left, bottom-right."""
    w, h = image.size
    rgb = image.convert("RGB")
    points = [(w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)]
    return "".join(NAMES[nearest(rgb.getpixel(p), NAMES)] for p in points)


def nearest(pixel: tuple, palette) -> tuple:
    return min(palette, key=lambda colour: sum((a - b) ** 2 for a, b in zip(pixel, colour, strict=True)))


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    exif[0x0110] = CAMERA_MODEL
    exif[0x0132] = TAKEN_AT
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (15.0, 30.0, 12.5), 3: "W", 4: (88.0, 6.0, 3.25), 0x12: GPS_DATUM})
    return exif


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_from_a_phone(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG carrying everything a phone may leak: EXIF with GPS, XMP, a comment, an ICC profile."""
    return encode(
        noise(size), "JPEG", exif=exif_with_gps(), xmp=XMP, comment=COMMENT, icc_profile=icc_profile(), quality=95
    )


def with_metadata(fmt: str) -> bytes:
    """The same leaks in every accepted format that can carry them."""
    image = noise((48, 32))
    if fmt == "JPEG":
        return jpeg_from_a_phone((48, 32))
    if fmt == "MPO":
        return encode(image, "MPO", save_all=True, append_images=[noise((48, 32), seed=8)], exif=exif_with_gps())
    if fmt == "PNG":
        return encode(image.convert("RGBA"), "PNG", exif=exif_with_gps(), icc_profile=icc_profile())
    if fmt == "HEIF" and not HEIF_WRITABLE:
        pytest.skip("no HEIF encoder in this build of pillow-heif")
    return encode(image, fmt, exif=exif_with_gps(), xmp=XMP, icc_profile=icc_profile())


def png_of_zeros(width: int, height: int) -> bytes:
    """A valid 1-bit PNG, all black: a few KB on disk however many pixels it declares.

    Built without ever holding the raw rows: each full-flushed deflate block of zero rows is
    self-contained, so one block is repeated; Adler-32 of n zero bytes is (n mod 65521) << 16 | 1.
    """
    row = bytes(1 + (width + 7) // 8)
    block_rows = max(1, 2**20 // len(row))
    block = _deflate(row * block_rows, zlib.Z_FULL_FLUSH)
    tail = _deflate(row * (height % block_rows), zlib.Z_FINISH)
    raw_length = len(row) * height
    stream = b"\x78\xda" + block * (height // block_rows) + tail + struct.pack(">I", (raw_length % 65521) << 16 | 1)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def _deflate(data: bytes, mode: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(mode)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header claims another size."""
    data = bytearray(encode(Image.new("L", (16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_app1(payload: bytes, image: Image.Image) -> bytes:
    """A JPEG with `payload` spliced in as its APP1 (EXIF) segment, byte for byte."""
    data = encode(image, "JPEG", quality=95, subsampling=0)
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def tiff_ifd(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    body = b"".join(struct.pack("<HHI4s", *entry) for entry in entries)
    return b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + struct.pack("<H", len(entries)) + body + b"\x00" * 4


# --- reading results ----------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """Every marker segment of a JPEG, entropy-coded data walked over, up to an EOI at the very end."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    segments, pos = [], 2
    while True:
        assert data[pos] == 0xFF, f"no marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            assert pos + 2 == len(data), "bytes hidden after the end of the image"
            return segments
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1


def metadata_segments(data: bytes) -> list[tuple[int, bytes]]:
    """APPn and COM segments: where JPEG keeps EXIF, XMP, ICC, comments and vendor blobs."""
    return [(marker, body) for marker, body in jpeg_segments(data) if 0xE0 <= marker <= 0xEF or marker == 0xFE]


def assert_clean_jpeg(data: bytes) -> Image.Image:
    # A JFIF header (version and pixel density) is the only application segment allowed.
    assert [(marker, body[:5]) for marker, body in metadata_segments(data)] == [(0xE0, b"JFIF\x00")]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert not image.getexif().get_ifd(0x8825)
    assert not [key for key in METADATA_KEYS if key in image.info]
    for leak in (b"Exif\x00\x00", *GPS_POINTERS, GPS_DATUM.encode(), CAMERA_MAKE.encode(), CAMERA_MODEL.encode()):
        assert leak not in data
    for leak in (TAKEN_AT.encode(), COMMENT, XMP_SECRET.encode(), b"ICC_PROFILE", b"http://ns.adobe.com/xap/1.0/"):
        assert leak not in data
    return image


def stored_files() -> list[Path]:
    from django.conf import settings

    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def assert_nothing_stored() -> None:
    assert stored_files() == []
    assert Photo.objects.count() == 0
    assert Report.objects.count() == 0


def rejection(data: bytes, language: str = "en") -> str:
    with translation.override(language), pytest.raises(PhotoRejected) as caught:
        clean_photo(upload(data))
    return str(caught.value)


@pytest.fixture
def small_limits(settings):
    settings.PHOTO_MAX_EDGE = 64
    settings.PHOTO_THUMBNAIL_EDGE = 16
    return settings


@pytest.fixture
def no_decoding(monkeypatch):
    """Records every pixel buffer a decoder prepares: a bomb must be refused before the first one."""
    prepared = []
    original = ImageFile.ImageFile.load_prepare

    def spy(self):
        prepared.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", spy)
    return prepared


NOT_A_PHOTO = "This file is not a photo we can read. Send a JPEG, PNG or WebP image."
TOO_MANY_PIXELS = "The photo has too many pixels. Send a smaller picture."


# --- metadata never reaches the disk ------------------------------------------------------------


def test_it_stores_a_gps_tagged_jpeg_with_no_metadata_at_all(geo):
    original = jpeg_from_a_phone()
    sent = Image.open(io.BytesIO(original))
    # The upload really carries every leak this test looks for.
    assert sent.getexif()[0x010F] == CAMERA_MAKE
    assert sent.getexif().get_ifd(0x8825)[0x12] == GPS_DATUM
    assert {"exif", "xmp", "comment", "icc_profile"} <= set(sent.info)
    assert any(pointer in original for pointer in GPS_POINTERS)
    for leak in (GPS_DATUM.encode(), CAMERA_MAKE.encode(), COMMENT, XMP_SECRET.encode(), b"ICC_PROFILE"):
        assert leak in original

    report = make_report(point=geo["west_point"], photos=[clean_photo(upload(original))])

    photo = report.photos.get()
    for path in (photo.image.path, photo.thumbnail.path):
        assert_clean_jpeg(Path(path).read_bytes())
    with Image.open(photo.image.path) as stored:
        assert stored.size == (64, 48) == (photo.width, photo.height)


def test_it_names_stored_files_with_nothing_from_the_upload(geo):
    report = make_report(point=geo["west_point"], photos=[clean_photo(upload(jpeg_from_a_phone()))])

    photo = report.photos.get()
    for name in (photo.image.name, photo.thumbnail.name):
        assert "IMG_2024" not in name
        assert "maria" not in name.lower()
        assert report.tracking_code not in name


@pytest.mark.parametrize("fmt", ["JPEG", "MPO", "PNG", "WEBP", "HEIF"])
def test_it_never_stores_the_original_bytes(geo, fmt):
    original = with_metadata(fmt)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)

    make_report(point=geo["west_point"], photos=[clean_photo(upload(original))])

    files = stored_files()
    assert len(files) == 2  # the photo and its thumbnail, nothing else
    for path in files:
        data = path.read_bytes()
        assert data != original
        assert original not in data
        assert_clean_jpeg(data)


@pytest.mark.parametrize("fmt", ["JPEG", "MPO", "PNG", "WEBP", "HEIF"])
def test_it_cleans_every_accepted_format(fmt):
    photo = clean_photo(upload(with_metadata(fmt)))

    image = assert_clean_jpeg(photo.image)
    assert image.size == (photo.width, photo.height) == (48, 32)
    assert_clean_jpeg(photo.thumbnail)


# --- orientation --------------------------------------------------------------------------------


def test_it_applies_the_exif_orientation_to_the_pixels():
    sent = encode(quadrants(), "JPEG", exif=exif_with_gps(orientation=6), quality=95, subsampling=0)

    photo = clean_photo(upload(sent))

    image = assert_clean_jpeg(photo.image)
    assert image.size == (20, 40) == (photo.width, photo.height)
    assert 0x0112 not in image.getexif()
    # Orientation 6 is "rotate 90 degrees clockwise to view": the red top-left goes top-right.
    assert corners(image) == "BRWG"
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (20, 40)


# Red | green over blue | white, as a viewer honouring each EXIF orientation shows it.
@pytest.mark.parametrize(
    ("orientation", "size", "seen"),
    [
        (1, (40, 20), "RGBW"),
        (2, (40, 20), "GRWB"),
        (3, (40, 20), "WBGR"),
        (4, (40, 20), "BWRG"),
        (5, (20, 40), "RBGW"),
        (6, (20, 40), "BRWG"),
        (7, (20, 40), "WGBR"),
        (8, (20, 40), "GWRB"),
    ],
)
def test_it_shows_every_orientation_upright(orientation, size, seen):
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo = clean_photo(upload(encode(quadrants(), "JPEG", exif=exif, quality=95, subsampling=0)))

    image = Image.open(io.BytesIO(photo.image))
    assert (image.size, corners(image)) == (size, seen)


def test_it_applies_an_orientation_given_only_in_xmp():
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
    )
    photo = clean_photo(upload(encode(quadrants(), "JPEG", xmp=xmp, quality=95, subsampling=0)))

    image = assert_clean_jpeg(photo.image)
    assert (image.size, corners(image)) == ((20, 40), "BRWG")


def test_it_still_applies_the_orientation_when_another_exif_tag_is_damaged():
    # Orientation 6, and a Make tag typed FLOAT: Pillow reads it, but cannot write it back.
    exif = tiff_ifd([(0x0112, 3, 1, struct.pack("<HH", 6, 0)), (0x010F, 11, 1, b"\x01\x02\x03\x04")])

    photo = clean_photo(upload(jpeg_app1(exif, quadrants())))

    image = assert_clean_jpeg(photo.image)
    assert (image.size, corners(image)) == ((20, 40), "BRWG")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_it_keeps_a_photo_whose_exif_block_is_not_exif(fmt):
    if fmt == "HEIF" and not HEIF_WRITABLE:
        pytest.skip("no HEIF encoder in this build of pillow-heif")
    sent = encode(quadrants(), fmt, exif=b"Exif\x00\x00XX*\x00\x00\x00\x00\x08")

    photo = clean_photo(upload(sent))

    image = assert_clean_jpeg(photo.image)
    assert (image.size, corners(image)) == ((40, 20), "RGBW")


# --- formats and sizes --------------------------------------------------------------------------


def test_it_flattens_transparency_onto_white(small_limits):
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 20, 20))

    photo = clean_photo(upload(encode(image, "PNG")))

    result = assert_clean_jpeg(photo.image)
    assert result.mode == "RGB"
    assert nearest(result.getpixel((5, 10)), NAMES) == RED
    # Transparent pixels here are (0, 0, 0, 0): dropping the alpha alone would paint them black.
    assert nearest(result.getpixel((35, 10)), [*NAMES, (0, 0, 0)]) == WHITE


def test_it_flattens_a_palette_png_with_a_transparent_colour(small_limits):
    image = Image.new("P", (40, 20), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.paste(1, (0, 0, 20, 20))

    photo = clean_photo(upload(encode(image, "PNG", transparency=0)))

    result = Image.open(io.BytesIO(photo.image))
    assert nearest(result.getpixel((5, 10)), NAMES) == RED
    assert nearest(result.getpixel((35, 10)), [*NAMES, (0, 0, 0)]) == WHITE


@pytest.mark.parametrize(
    ("fmt", "mode", "params"),
    [
        ("PNG", "RGBA", {}),
        ("PNG", "LA", {}),
        ("PNG", "I;16", {}),
        ("WEBP", "RGBA", {"lossless": True}),
        ("WEBP", "RGB", {"quality": 80}),
        ("JPEG", "CMYK", {}),
        ("JPEG", "L", {}),
    ],
)
def test_it_turns_accepted_images_into_bounded_jpegs(small_limits, fmt, mode, params):
    sent = encode(noise((200, 100)).convert(mode), fmt, **params)

    photo = clean_photo(upload(sent))

    assert isinstance(photo, CleanPhoto)
    image = assert_clean_jpeg(photo.image)
    assert image.mode == "RGB"
    # Scaled to the longest edge allowed, proportions kept.
    assert image.size == (photo.width, photo.height) == (64, 32)
    assert assert_clean_jpeg(photo.thumbnail).size == (16, 8)


def test_it_keeps_the_proportions_of_a_portrait_photo(small_limits):
    photo = clean_photo(upload(encode(noise((90, 300)), "WEBP")))

    assert max(photo.width, photo.height) == photo.height == 64
    assert abs(photo.width / photo.height - 90 / 300) < 0.02
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert max(thumb.size) == thumb.height == 16


def test_it_does_not_enlarge_a_small_photo(small_limits):
    photo = clean_photo(upload(encode(noise((30, 20)), "PNG")))

    assert Image.open(io.BytesIO(photo.image)).size == (30, 20) == (photo.width, photo.height)
    assert max(Image.open(io.BytesIO(photo.thumbnail)).size) == 16


@pytest.mark.skipif(not HEIF_WRITABLE, reason="no HEIF encoder in this build of pillow-heif")
def test_it_accepts_a_heic_photo_from_a_phone(small_limits, geo):
    sent = encode(quadrants((120, 60)), "HEIF", quality=95, exif=exif_with_gps(), xmp=XMP)
    assert sent[4:12] == b"ftypheic"

    report = make_report(point=geo["west_point"], photos=[clean_photo(upload(sent, "IMG_0001.HEIC"))])

    photo = report.photos.get()
    image = assert_clean_jpeg(Path(photo.image.path).read_bytes())
    assert (image.size, corners(image)) == ((64, 32), "RGBW")
    assert assert_clean_jpeg(Path(photo.thumbnail.path).read_bytes()).size == (16, 8)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # 400 Mpx: past Pillow's own bomb error
        (10_000, 10_000),  # 100 Mpx: only a warning for Pillow
        (8_000, 8_000),  # 64 Mpx: allowed by Pillow, past PHOTO_MAX_PIXELS (40 Mpx)
        (1, 50_000_000),
    ],
)
def test_it_refuses_a_decompression_bomb_before_decoding_it(geo, no_decoding, width, height):
    bomb = png_of_zeros(width, height)
    assert len(bomb) < 200_000

    with pytest.raises(PhotoRejected):
        make_report(point=geo["west_point"], photos=[clean_photo(upload(bomb))])

    assert rejection(bomb) == TOO_MANY_PIXELS
    assert no_decoding == []
    assert_nothing_stored()


def test_it_refuses_a_bomb_by_its_own_limit_when_pillow_has_none(monkeypatch, no_decoding):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    assert rejection(png_of_zeros(20_000, 20_000)) == TOO_MANY_PIXELS
    assert rejection(jpeg_declaring(60_000, 60_000)) == TOO_MANY_PIXELS
    assert no_decoding == []


def test_it_refuses_a_jpeg_declaring_a_huge_frame(no_decoding):
    assert rejection(jpeg_declaring(65_000, 65_000)) == TOO_MANY_PIXELS
    assert no_decoding == []


def test_it_accepts_the_same_png_when_it_is_small(small_limits):
    # The bombs above are well-formed: they are refused for their size, not as damaged files.
    photo = clean_photo(upload(png_of_zeros(300, 200)))

    assert (photo.width, photo.height) == (64, 43)
    assert nearest(Image.open(io.BytesIO(photo.image)).getpixel((10, 10)), [(0, 0, 0), WHITE]) == (0, 0, 0)


def test_it_holds_the_pixel_limit_exactly(settings, no_decoding):
    sent = encode(noise((40, 20)), "PNG")

    settings.PHOTO_MAX_PIXELS = 40 * 20
    photo = clean_photo(upload(sent))
    assert (photo.width, photo.height) == (40, 20)

    no_decoding.clear()
    settings.PHOTO_MAX_PIXELS = 40 * 20 - 1
    assert rejection(sent) == TOO_MANY_PIXELS
    assert no_decoding == []


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Meet me at the school gate at 9.\n", id="text"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", id="pdf"),
        pytest.param(random.Random(3).randbytes(4096), id="random-bytes"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', id="svg"),
        pytest.param(b"\xff\xd8\xff\xe0", id="jpeg-magic-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, id="png-magic-only"),
        pytest.param(encode(Image.new("RGB", (40, 20), RED), "GIF"), id="gif"),
        pytest.param(encode(Image.new("RGB", (40, 20), RED), "BMP"), id="bmp"),
        pytest.param(encode(Image.new("RGB", (40, 20), RED), "TIFF"), id="tiff"),
        pytest.param(encode(Image.new("RGB", (40, 20), RED), "ICO"), id="ico"),
    ],
)
def test_it_refuses_what_is_not_an_accepted_photo(geo, data):
    with pytest.raises(PhotoRejected):
        make_report(point=geo["west_point"], photos=[clean_photo(upload(data))])

    assert rejection(data) == NOT_A_PHOTO
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("fmt", "cut"),
    [("JPEG", 0.5), ("JPEG", 0.95), ("PNG", 0.5), ("WEBP", 0.5)],
)
def test_it_refuses_a_truncated_photo(fmt, cut):
    whole = encode(noise((96, 64)), fmt)
    assert clean_photo(upload(whole)).width == 96

    assert rejection(whole[: int(len(whole) * cut)]) == NOT_A_PHOTO


def test_it_refuses_a_jpeg_missing_only_its_end_marker():
    whole = encode(noise((96, 64)), "JPEG")
    assert whole.endswith(b"\xff\xd9")

    assert rejection(whole[:-2]) == NOT_A_PHOTO


@pytest.mark.skipif(not HEIF_WRITABLE, reason="no HEIF encoder in this build of pillow-heif")
def test_it_refuses_a_heic_with_damaged_image_data():
    damaged = bytearray(encode(noise((64, 64)), "HEIF", quality=90))
    mdat = damaged.index(b"mdat")
    damaged[mdat + 4 : mdat + 8] = b"\xff" * 4  # the first NAL unit's length, now past the end

    assert rejection(bytes(damaged)) == NOT_A_PHOTO


def test_it_refuses_an_empty_file(geo):
    with pytest.raises(PhotoRejected):
        make_report(point=geo["west_point"], photos=[clean_photo(upload(b""))])

    assert rejection(b"") == "The file is empty."
    assert_nothing_stored()


def test_it_refuses_a_file_over_the_byte_limit_and_says_what_the_limit_is(settings, geo):
    settings.PHOTO_MAX_BYTES = 1536
    sent = encode(noise((64, 64)), "JPEG")
    assert len(sent) > 1536

    with pytest.raises(PhotoRejected):
        make_report(point=geo["west_point"], photos=[clean_photo(upload(sent))])

    assert rejection(sent) == "The photo is too large: the limit is 1.5\xa0KB."
    assert_nothing_stored()


def test_it_holds_the_byte_limit_exactly(settings):
    sent = encode(noise((40, 20)), "JPEG")

    settings.PHOTO_MAX_BYTES = len(sent)
    assert clean_photo(upload(sent)).width == 40

    settings.PHOTO_MAX_BYTES = len(sent) - 1
    assert rejection(sent).startswith("The photo is too large")


def test_it_stops_reading_a_stream_that_does_not_say_its_size(settings):
    settings.PHOTO_MAX_BYTES = 10_000
    stream = io.BytesIO(encode(noise((40, 20)), "PNG") + b"\x00" * 1_000_000)
    assert not hasattr(stream, "size")

    with translation.override("en"), pytest.raises(PhotoRejected, match="too large"):
        clean_photo(stream)
    assert stream.tell() <= settings.PHOTO_MAX_BYTES + 1


def test_it_refuses_by_the_declared_size_and_states_the_default_limit_in_megabytes(settings):
    settings.PHOTO_MAX_BYTES = 10 * 1024 * 1024
    big = upload(encode(noise((40, 20)), "JPEG"))
    big.size = settings.PHOTO_MAX_BYTES + 1  # as Django records it while receiving the request

    with translation.override("en"), pytest.raises(PhotoRejected) as caught:
        clean_photo(big)

    assert str(caught.value) == "The photo is too large: the limit is 10.0\xa0MB."


def test_it_explains_a_refusal_in_the_residents_language():
    assert rejection(b"", "es") == "El archivo está vacío."
    assert rejection(b"%PDF-1.7\n", "es") == (
        "No podemos leer este archivo como foto. Envíe una imagen JPEG, PNG o WebP."
    )
    assert rejection(png_of_zeros(10_000, 10_000), "es") == (
        "La foto tiene demasiados píxeles. Envíe una imagen más pequeña."
    )


@pytest.mark.parametrize("language", ["en", "es", "fr", "ht", "pt"])
def test_it_states_the_byte_limit_in_every_language(settings, language):
    # A translation with the wrong placeholder would turn this refusal into a server error.
    settings.PHOTO_MAX_BYTES = 512 * 1024
    sent = upload(b"\xff\xd8")
    sent.size = settings.PHOTO_MAX_BYTES + 1

    with translation.override(language):
        expected = filesizeformat(settings.PHOTO_MAX_BYTES)
        with pytest.raises(PhotoRejected) as caught:
            clean_photo(sent)

    assert expected in str(caught.value)


# --- a failed report leaves nothing behind ------------------------------------------------------


def test_it_writes_nothing_for_a_report_outside_every_area(geo):
    photo = clean_photo(upload(jpeg_from_a_phone()))

    with pytest.raises(OutsideServiceArea):
        make_report(point=geo["outside_point"], photos=[photo, photo])

    assert_nothing_stored()


def test_it_removes_written_photos_when_the_report_fails_afterwards(geo, monkeypatch):
    photos = [clean_photo(upload(jpeg_from_a_phone())), clean_photo(upload(encode(noise((40, 20)), "PNG")))]
    written = []
    original_save = FileSystemStorage._save

    def save(self, name, content):
        written.append(original_save(self, name, content))
        return written[-1]

    def fail(**fields):
        raise RuntimeError("database went away")

    monkeypatch.setattr(FileSystemStorage, "_save", save)
    monkeypatch.setattr(TriageEvent.objects, "create", fail)

    with pytest.raises(RuntimeError, match="went away"):
        make_report(point=geo["west_point"], photos=photos)

    assert len(written) == 4  # the files really were on disk before the failure
    assert_nothing_stored()
    assert TriageEvent.objects.count() == 0


def test_it_removes_the_image_when_its_thumbnail_cannot_be_written(geo, monkeypatch):
    photo = clean_photo(upload(jpeg_from_a_phone()))
    original_save = FileSystemStorage._save

    def save(self, name, content):
        if name.endswith("_thumb.jpg"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return original_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", save)

    with pytest.raises(OSError, match="No space"):
        make_report(point=geo["west_point"], photos=[photo])

    assert_nothing_stored()
