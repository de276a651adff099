"""Photo intake: every photo is decoded, checked and re-encoded from its pixels alone.

Nothing of the file a resident sent survives: not EXIF (GPS, camera serial), XMP, ICC
profiles or comments. Limits on bytes and pixels are checked before any pixel is decoded,
so a small file that expands to gigabytes (a decompression bomb) is refused cheaply.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import ExifTags, Image

# Decoders allowed to touch resident uploads; everything else is "not a photo".
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
OPTIONAL_FORMATS = ("HEIF",)

# EXIF orientation -> the transposition that makes the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoRejected(ValueError):
    """A translated reason the photo cannot be accepted."""


@dataclass(frozen=True)
class CleanPhoto:
    image: bytes
    thumbnail: bytes
    width: int
    height: int


def register_optional_formats() -> None:
    """HEIC/HEIF from phones, where pillow-heif is installed."""
    try:
        import pillow_heif
    except ImportError:  # pragma: no cover - optional dependency
        return
    pillow_heif.register_heif_opener()


def accepted_formats() -> tuple[str, ...]:
    return ACCEPTED_FORMATS + tuple(f for f in OPTIONAL_FORMATS if f in Image.OPEN)


def clean_photo(upload) -> CleanPhoto:
    """Check and re-encode one uploaded file; raise PhotoRejected with a message for the resident."""
    data = _read_limited(upload, settings.PHOTO_MAX_BYTES)
    image = _decode(data, settings.PHOTO_MAX_PIXELS)
    pixels = _strip(image)
    pixels.thumbnail((settings.PHOTO_MAX_EDGE, settings.PHOTO_MAX_EDGE))
    thumb = pixels.copy()
    thumb.thumbnail((settings.PHOTO_THUMBNAIL_EDGE, settings.PHOTO_THUMBNAIL_EDGE))
    return CleanPhoto(image=_jpeg(pixels, 85), thumbnail=_jpeg(thumb, 75), width=pixels.width, height=pixels.height)


def _read_limited(upload, limit: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise PhotoRejected(_too_large(limit))
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PhotoRejected(_too_large(limit))
    if not data:
        raise PhotoRejected(_("The file is empty."))
    return data


def _too_large(limit: int) -> str:
    # filesizeformat, not whole megabytes: a 512 KB limit must not read "the limit is 0 MB".
    return _("The photo is too large: the limit is %(size)s.") % {"size": filesizeformat(limit)}


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    not_a_photo = _("This file is not a photo we can read. Send a JPEG, PNG or WebP image.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=accepted_formats())
            width, height = image.size
            if width * height > max_pixels or width <= 0 or height <= 0:
                raise PhotoRejected(_("The photo has too many pixels. Send a smaller picture."))
            image.load()
        except PhotoRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoRejected(_("The photo has too many pixels. Send a smaller picture.")) from exc
        except Exception as exc:
            # Decoders fed hostile or damaged bytes fail in many ways (OSError, SyntaxError,
            # EOFError, struct.error, RuntimeError from libheif, ...); to the resident they all
            # mean the same thing, and none may become a server error.
            raise PhotoRejected(not_a_photo) from exc
    return image


def _strip(image: Image.Image) -> Image.Image:
    """Orientation applied, transparency flattened, then the pixels copied into a new image.

    The copy carries no `info` from the source, so no EXIF, XMP, ICC or comment can leak
    into what Pillow writes.
    """
    upright = _upright(image)
    if upright.mode in ("RGBA", "LA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    rgb = upright.convert("RGB")
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    return clean


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF (or XMP) orientation, reading nothing else from the metadata.

    Not ImageOps.exif_transpose: it also re-serialises the whole EXIF block, which raises on
    damaged tags. A corrupt block costs the photo its orientation, never the photo itself.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        orientation = 1
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()
