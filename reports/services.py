"""Every write to reports, and its side effects."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from community.models import Area
from community.selectors import area_for_point

from .models import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    ArmsSighting,
    AuditEntry,
    Category,
    Note,
    Photo,
    Report,
    TriageEvent,
)
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
    report = Report(
        area_path=[area.id, *(ancestor.id for ancestor in area.ancestors())],
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
    sighting = ArmsSighting(**arms.__dict__) if arms is not None and category.is_arms else None
    # The first event closes the write: in the report's own statement when there is nothing else
    # to store, after the photos otherwise.
    first_event = None if photos else TriageEvent(to_status=Report.Status.NEW, at=report.created_at)
    written: list[str] = []
    try:
        with transaction.atomic():
            _report_insert(report, sighting=sighting, first_event=first_event)
            for photo in photos:
                _photo_store(report=report, photo=photo, written=written)
            if first_event is None:
                TriageEvent.objects.create(report=report, to_status=Report.Status.NEW, at=report.created_at)
            _after_commit(report.id, "created", created=report)
    except BaseException:
        # The files are outside the transaction: remove what this attempt wrote.
        _files_remove(written)
        raise
    return report


# One statement for the report, its arms answers and its first event, where the ORM takes three
# statements and a savepoint for the tracking code: it runs for every SMS report, in the webhook.
# A tracking code taken already makes ON CONFLICT insert nothing (the rows that depend on the
# report included), and the insert is tried again with a new code.
_REPORT_INSERT = """
    WITH report AS (
        INSERT INTO {table} ({columns}) VALUES ({values})
        ON CONFLICT (tracking_code) DO NOTHING
        RETURNING id
    ){dependants}
    SELECT id FROM report
"""
_DEPENDANT_INSERT = """, {name} AS (
        INSERT INTO {table} (report_id, {columns}) SELECT id, {values} FROM report
    )"""


def _report_insert(report: Report, *, sighting: ArmsSighting | None, first_event: TriageEvent | None) -> None:
    """Insert the report, and the rows given that belong to it, under a new tracking code; set its id."""
    dependants = [(name, row) for name, row in (("sighting", sighting), ("event", first_event)) if row is not None]
    dependant_sql, dependant_params = "", []
    for name, row in dependants:
        columns, values, params = _row_values(row, skip="report")
        dependant_sql += _DEPENDANT_INSERT.format(
            name=name, table=row._meta.db_table, columns=", ".join(columns), values=", ".join(values)
        )
        dependant_params += params
    # Codes come from a 31^10 space; a clash is rare but must not lose the report.
    for _attempt in range(5):
        report.tracking_code = tracking_code_new()
        columns, values, params = _row_values(report)
        sql = _REPORT_INSERT.format(
            table=Report._meta.db_table, columns=", ".join(columns), values=", ".join(values), dependants=dependant_sql
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *dependant_params])
            inserted = cursor.fetchone()
        if inserted is not None:
            report.pk, report._state.adding, report._state.db = inserted[0], False, connection.alias
            return
    raise RuntimeError("could not allocate a unique tracking code")


def _row_values(instance, *, skip: str = "") -> tuple[list[str], list[str], list]:
    """Columns, placeholders and parameters of a new row, as the ORM's INSERT prepares them
    (defaults and auto_now applied); the primary key is left to the database."""
    columns, values, params = [], [], []
    for field in instance._meta.local_concrete_fields:
        if field.primary_key or field.name == skip:
            continue
        value = field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        columns.append(connection.ops.quote_name(field.column))
        values.append(field.get_placeholder(value, None, connection) if hasattr(field, "get_placeholder") else "%s")
        params.append(value)
    return columns, values, params


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


# --- Triage ------------------------------------------------------------------------------------

TRANSITIONS = {
    Report.Status.NEW: {Report.Status.VERIFIED, Report.Status.REJECTED, Report.Status.DUPLICATE},
    Report.Status.VERIFIED: {Report.Status.IN_ACTION, Report.Status.RESOLVED, Report.Status.REJECTED},
    Report.Status.IN_ACTION: {Report.Status.RESOLVED, Report.Status.VERIFIED},
    Report.Status.REJECTED: {Report.Status.NEW},
    Report.Status.DUPLICATE: {Report.Status.NEW},
    Report.Status.RESOLVED: {Report.Status.IN_ACTION},
}


class TransitionRefused(ValueError):
    """The report cannot move from its status to the one asked."""


def audit_record(*, actor, action: str, report: Report | None = None, plan=None, **detail) -> AuditEntry:
    return AuditEntry.objects.create(actor=actor, action=action, report=report, plan=plan, detail=detail)


def report_status_set(*, report: Report, actor, to_status: str, note: str = "", **fields) -> Report:
    """Move a report along the triage path, with its TriageEvent, audit entry, live push and news."""
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if to_status not in TRANSITIONS.get(locked.status, set()):
            raise TransitionRefused(f"{locked.status} → {to_status}")
        TriageEvent.objects.create(
            report=locked, actor=actor, from_status=locked.status, to_status=to_status, note=note
        )
        if to_status == Report.Status.NEW and locked.duplicate_of_id:
            fields["duplicate_of"] = None  # reopened: no longer merged into anything
        for name, value in fields.items():
            setattr(locked, name, value)
        was_validated = locked.status in Report.VALIDATED
        locked.status = to_status
        locked.save(update_fields=["status", "updated_at", *fields])
        _validation_notify(locked, was_validated)
        audit_record(actor=actor, action=f"status:{to_status}", report=locked, note=bool(note))
        _after_commit(locked.id, "changed", status_changed=True)
    return locked


def _validation_notify(report: Report, was_validated: bool) -> None:
    from . import hooks

    is_validated = report.status in Report.VALIDATED
    if was_validated != is_validated:
        for listener in hooks.validation_listeners():
            listener(report, was_validated, is_validated)


def _after_commit(report_id: int, event: str, *, status_changed: bool = False, created: Report | None = None) -> None:
    """Pushes and listeners, once the transaction commits. `created`: the report as this transaction
    wrote it (its category and area loaded): its summary is taken now, and nothing is read back."""
    from . import hooks, live

    if created is None:
        transaction.on_commit(lambda: live.report_push(report_id, event), robust=True)
    else:
        summary = live.report_summary(created)
        transaction.on_commit(lambda: live.summary_push(created, summary, event), robust=True)
    if status_changed:
        for listener in hooks.status_listeners():
            transaction.on_commit(lambda listener=listener: listener(report_id), robust=True)


def report_verify(*, report: Report, actor, note: str = "") -> Report:
    return report_status_set(report=report, actor=actor, to_status=Report.Status.VERIFIED, note=note)


def report_reject(*, report: Report, actor, reason: str) -> Report:
    return report_status_set(report=report, actor=actor, to_status=Report.Status.REJECTED, note=reason)


def report_mark_duplicate(*, report: Report, actor, original: Report, note: str = "") -> Report:
    if original.pk == report.pk or original.duplicate_of_id == report.pk:
        raise TransitionRefused("a report cannot duplicate itself")
    root = original
    for _hop in range(10):  # merges point at the root; a root merged later adds one hop
        if root.duplicate_of_id is None:
            break
        root = root.duplicate_of
    if root.pk == report.pk:
        raise TransitionRefused("a report cannot duplicate itself")
    return report_status_set(
        report=report, actor=actor, to_status=Report.Status.DUPLICATE, note=note, duplicate_of=root
    )


def report_resolve(*, report: Report, actor, note: str = "") -> Report:
    return report_status_set(report=report, actor=actor, to_status=Report.Status.RESOLVED, note=note)


def report_plan_link(*, report: Report, actor, plan) -> Report:
    """Link a verified report to its committee's action plan: the report is then in action."""
    if report.status == Report.Status.IN_ACTION:
        with transaction.atomic():
            Report.objects.filter(pk=report.pk).update(action_plan=plan)
            audit_record(actor=actor, action="plan:link", report=report, plan=plan)
            _after_commit(report.id, "changed")
        report.action_plan = plan
        return report
    return report_status_set(report=report, actor=actor, to_status=Report.Status.IN_ACTION, action_plan=plan)


def report_priority_set(*, report: Report, actor, priority: int) -> Report:
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(priority=priority, updated_at=timezone.now())
        audit_record(actor=actor, action="priority", report=report, priority=priority)
        _after_commit(report.id, "changed")
    report.priority = priority
    return report


def report_assign(*, report: Report, actor, assignee) -> Report:
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(assigned_to=assignee, updated_at=timezone.now())
        audit_record(actor=actor, action="assign", report=report, assignee=assignee.pk if assignee else None)
        _after_commit(report.id, "changed")
    report.assigned_to = assignee
    return report


def report_note_add(*, report: Report, actor, text: str) -> Note:
    with transaction.atomic():
        note = Note.objects.create(report=report, author=actor, text=text)
        audit_record(actor=actor, action="note", report=report)
    return note


def report_view_record(*, report: Report, actor) -> None:
    """Every view of a report's detail is recorded."""
    audit_record(actor=actor, action="view", report=report)
