"""Every write to reports, and its side effects."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from community.models import Area
from community.selectors import area_for_point

from .models import TRACKING_ALPHABET, TRACKING_LENGTH, ArmsSighting, Category, Photo, Report, TriageEvent
from .photos import CleanPhoto


class OutsideServiceArea(ValueError):
    """The point lies outside every configured area."""


@dataclass(frozen=True)
class ArmsAnswers:
    weapon_type: str
    weapon_count: str
    activity: str
    people_count: str


def tracking_code_new() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def report_create(
    *,
    category: Category,
    description: str,
    occurred_at: datetime,
    occurred_precision: str = Report.Precision.DAY,
    location: Point | None = None,
    location_source: str,
    area: Area | None = None,
    channel: str = Report.Channel.WEB,
    affected_sex: str = "",
    affected_age_band: str = "",
    arms: ArmsAnswers | None = None,
    photos: list[CleanPhoto] = (),
    language: str = "",
    incomplete: bool = False,
) -> Report:
    """Store a resident's report with its area resolved in PostGIS, arms answers, photos and first event.

    A point wins over a named area: the area becomes the most detailed one containing it.
    """
    if location is not None:
        area = area_for_point(location)
    if area is None:
        raise OutsideServiceArea
    written: list[str] = []
    try:
        with transaction.atomic():
            report = _report_insert(
                category=category,
                description=description,
                occurred_at=occurred_at,
                occurred_precision=occurred_precision,
                location=location,
                location_source=location_source,
                area=area,
                channel=channel,
                affected_sex=affected_sex,
                affected_age_band=affected_age_band,
                language=language,
                incomplete=incomplete,
            )
            if arms is not None and category.is_arms:
                ArmsSighting.objects.create(report=report, **arms.__dict__)
            for photo in photos:
                _photo_store(report=report, photo=photo, written=written)
            TriageEvent.objects.create(report=report, to_status=Report.Status.NEW, at=report.created_at)
    except BaseException:
        # The files are outside the transaction: remove what this attempt wrote.
        _files_remove(written)
        raise
    return report


def _report_insert(**fields) -> Report:
    # Codes come from a 31^10 space; a clash is rare but must not lose the report.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Report.objects.create(tracking_code=tracking_code_new(), **fields)
        except IntegrityError as exc:
            if "tracking_code" not in str(exc):
                raise
    raise RuntimeError("could not allocate a unique tracking code")


def photo_add(*, report: Report, photo: CleanPhoto) -> Photo:
    """Attach a cleaned photo to an existing report (SMS media that arrive after the report)."""
    written: list[str] = []
    try:
        with transaction.atomic():
            _photo_store(report=report, photo=photo, written=written)
    except BaseException:
        _files_remove(written)
        raise
    return report.photos.order_by("-id").first()


def _photo_store(*, report: Report, photo: CleanPhoto, written: list[str]) -> None:
    # Each name is recorded as soon as its file exists, so a failure later still cleans it up.
    stem = uuid.uuid4().hex
    row = Photo(report=report, width=photo.width, height=photo.height)
    row.image.save(f"{stem}.jpg", ContentFile(photo.image), save=False)
    written.append(row.image.name)
    row.thumbnail.save(f"{stem}_thumb.jpg", ContentFile(photo.thumbnail), save=False)
    written.append(row.thumbnail.name)
    row.save()


def _files_remove(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)
