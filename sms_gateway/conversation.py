"""The guided SMS conversation: a state machine kept in the database.

Each answer is saved in `Conversation.data`; after each one the next unanswered question is
asked, in this order: category, where, what happened, the small-arms questions for arms
categories, confirmation. The caller holds a lock on the reporter, so messages from one phone
are handled one at a time, in order.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from community.models import Area, Place
from community.selectors import area_for_point, gazetteer_search
from reports.models import ArmsSighting, Category, Report

from . import replies
from .keywords import NO_WORDS, SKIP_WORDS, YES_WORDS, fold
from .models import Conversation, InboundMessage, Reporter

# A first message at least this long is taken as the description, not just a greeting.
LONG_FIRST_MESSAGE = 25
PLACE_ATTEMPTS = 2
ARMS_QUESTIONS = ("weapon_type", "weapon_count", "activity", "people_count")
STATE_FOR = {
    "weapon_type": Conversation.State.WEAPON_TYPE,
    "weapon_count": Conversation.State.WEAPON_COUNT,
    "activity": Conversation.State.ACTIVITY,
    "people_count": Conversation.State.PEOPLE,
}
QUESTION_FOR = {state: question for question, state in STATE_FOR.items()}


@dataclass
class Turn:
    """One inbound message as the conversation sees it."""

    text: str
    point: Point | None
    has_media: bool
    message: InboundMessage


# The active categories, read once a minute per process rather than on every message: an edit in the
# admin reaches this process at once (the signal below) and the other processes within the minute.
# Their menu is rendered once per language for each list read (a menu belongs to the list it
# numbers, so a reload never pairs an old menu with new numbers).
CATEGORIES_TTL_SECONDS = 60
_categories: tuple[float, list[Category], dict[str, str]] = (-CATEGORIES_TTL_SECONDS, [], {})


def _categories_read() -> tuple[float, list[Category], dict[str, str]]:
    global _categories
    if time.monotonic() - _categories[0] >= CATEGORIES_TTL_SECONDS:
        cached = list(Category.objects.filter(is_active=True).order_by("sort_order", "code"))
        _categories = (time.monotonic(), cached, {})
    return _categories


def categories() -> list[Category]:
    return _categories_read()[1]


def category_menu(language: str) -> str:
    """The numbered menu of the categories above, in the language."""
    _read_at, options, menus = _categories_read()
    if language not in menus:
        menus[language] = replies.category_menu(language, options)
    return menus[language]


def category_by_code(code: str) -> Category | None:
    """An active category from the list above; an inactive one (deactivated meanwhile) from the database."""
    for category in categories():
        if category.code == code:
            return category
    return Category.objects.filter(code=code).first()


def _forget_categories(**kwargs) -> None:
    global _categories
    _categories = (-CATEGORIES_TTL_SECONDS, [], {})


post_save.connect(_forget_categories, sender=Category, dispatch_uid="sms_categories_saved")
post_delete.connect(_forget_categories, sender=Category, dispatch_uid="sms_categories_deleted")


def is_idle(conversation: Conversation, now=None) -> bool:
    limit = timedelta(minutes=settings.SMS_CONVERSATION_IDLE_MINUTES)
    return (now or timezone.now()) - conversation.last_message_at > limit


def conversation_start(*, reporter: Reporter, turn: Turn, language: str, greeting: bool) -> tuple[Conversation, str]:
    """A new conversation, not saved yet: the caller saves it once, with its first answer."""
    conversation = Conversation(
        reporter=reporter, channel=turn.message.channel, language=language, data={"description": []}
    )
    _remember_message(conversation, turn)
    if turn.point is not None:
        _set_point(conversation, turn.point)
    if not greeting and len(turn.text) >= LONG_FIRST_MESSAGE:
        conversation.data["description"].append(turn.text)
    return conversation, _ask_next(conversation)


def conversation_step(*, conversation: Conversation, turn: Turn) -> str:
    """Apply one message to an open conversation and return the reply; the caller saves the conversation."""
    _remember_message(conversation, turn)
    state = conversation.state
    if turn.point is not None and state in (Conversation.State.WHERE, Conversation.State.PLACE_CHOICE):
        return _answer_point(conversation, turn.point)
    if turn.point is not None and "where" not in conversation.data:
        _set_point(conversation, turn.point)
    if not turn.text:
        # A photo or a location alone: kept, and the open question asked again.
        prefix = replies.photo_received(conversation.language) + "\n" if turn.has_media else ""
        return prefix + _ask_next(conversation)
    handler = HANDLERS.get(state)
    return handler(conversation, turn.text) if handler else _ask_next(conversation)


def _remember_message(conversation: Conversation, turn: Turn) -> None:
    conversation.last_message_at = turn.message.received_at
    if turn.has_media:
        conversation.data.setdefault("media_messages", []).append(turn.message.id)


def _choice(text: str, count: int) -> int | None:
    folded = fold(text)
    if folded.isdigit() and 1 <= int(folded) <= count:
        return int(folded) - 1
    return None


def _answer_category(conversation: Conversation, text: str) -> str:
    options = categories()
    index = _choice(text, len(options))
    if index is None:
        if len(text) >= LONG_FIRST_MESSAGE:
            conversation.data["description"].append(text)
        return replies.choose_number(conversation.language) + "\n" + _ask_next(conversation)
    conversation.data["category"] = options[index].code
    return _ask_next(conversation)


def _answer_where(conversation: Conversation, text: str) -> str:
    if fold(text) in SKIP_WORDS:
        conversation.data["where"] = {"kind": "skipped"}
        return _ask_next(conversation)
    matches = gazetteer_search(text)
    if len(matches) == 1:
        conversation.data["where"] = {"kind": matches[0].kind, "id": matches[0].id}
        return _ask_next(conversation)
    if matches:
        conversation.data["place_options"] = [{"kind": m.kind, "id": m.id} for m in matches]
        conversation.state = Conversation.State.PLACE_CHOICE
        return replies.place_menu(conversation.language, [m.label for m in matches])
    attempts = conversation.data.get("place_attempts", 0) + 1
    conversation.data["place_attempts"] = attempts
    conversation.data.setdefault("place_text", []).append(text)
    if attempts >= PLACE_ATTEMPTS:
        # Nothing lost: what the resident wrote stays with the report for the committee to read.
        conversation.data["where"] = {"kind": "text"}
        return _ask_next(conversation)
    return replies.place_not_found(conversation.language)


def _answer_place_choice(conversation: Conversation, text: str) -> str:
    options = conversation.data.get("place_options", [])
    index = _choice(text, len(options))
    if index is not None:
        conversation.data["where"] = options[index]
        return _ask_next(conversation)
    if fold(text) in SKIP_WORDS:
        conversation.data["where"] = {"kind": "skipped"}
        return _ask_next(conversation)
    return _answer_where(conversation, text)


def _answer_point(conversation: Conversation, point: Point) -> str:
    if not _set_point(conversation, point):
        return replies.outside_area(conversation.language)
    return _ask_next(conversation)


def _set_point(conversation: Conversation, point: Point) -> bool:
    """Keep the point as the answer to "where" if it lies in an area we serve."""
    if area_for_point(point) is None:
        return False
    conversation.data["where"] = {"kind": "point", "lon": point.x, "lat": point.y}
    return True


def _answer_what(conversation: Conversation, text: str) -> str:
    conversation.data["description"].append(text)
    return _ask_next(conversation)


def _answer_arms(conversation: Conversation, text: str) -> str:
    question = QUESTION_FOR[conversation.state]
    values = [value for value, _ in replies.ARMS_MENUS[question].choices]
    index = _choice(text, len(values))
    if index is None:
        return replies.choose_number(conversation.language) + "\n" + _ask_next(conversation)
    conversation.data.setdefault("arms", {})[question] = values[index]
    return _ask_next(conversation)


def _answer_confirm(conversation: Conversation, text: str) -> str:
    folded = fold(text)
    if folded in {"1", *YES_WORDS} or folded == "2":
        conversation.notify = folded == "2"
        from .services import conversation_submit

        report = conversation_submit(conversation=conversation, save=False)  # saved with the message
        return replies.sent(conversation.language, report.tracking_code)
    if folded in {"3", *NO_WORDS}:
        conversation.state = Conversation.State.CANCELLED
        conversation.is_open = False
        conversation.closed_at = timezone.now()
        return replies.cancelled(conversation.language)
    return replies.confirm(conversation.language)


HANDLERS = {
    Conversation.State.CATEGORY: _answer_category,
    Conversation.State.WHERE: _answer_where,
    Conversation.State.PLACE_CHOICE: _answer_place_choice,
    Conversation.State.WHAT: _answer_what,
    Conversation.State.WEAPON_TYPE: _answer_arms,
    Conversation.State.WEAPON_COUNT: _answer_arms,
    Conversation.State.ACTIVITY: _answer_arms,
    Conversation.State.PEOPLE: _answer_arms,
    Conversation.State.CONFIRM: _answer_confirm,
}


def _ask_next(conversation: Conversation) -> str:
    """Move to the first unanswered question and ask it."""
    data, language = conversation.data, conversation.language
    if "category" not in data:
        conversation.state = Conversation.State.CATEGORY
        return category_menu(language)
    if "where" not in data:
        conversation.state = Conversation.State.WHERE
        return replies.ask_where(language)
    if not data.get("description"):
        conversation.state = Conversation.State.WHAT
        return replies.ask_what(language)
    category = category_by_code(data["category"])
    if category is not None and category.is_arms:
        for question in ARMS_QUESTIONS:
            if question not in data.get("arms", {}):
                conversation.state = STATE_FOR[question]
                return replies.arms_menu(language, question)
    conversation.state = Conversation.State.CONFIRM
    return replies.confirm(language)


def has_content(conversation: Conversation) -> bool:
    data = conversation.data
    return bool(
        data.get("category") or data.get("description") or data.get("media_messages") or data.get("place_text")
    ) or data.get("where", {}).get("kind") in ("point", "place", "area")


def resolve_location(conversation: Conversation) -> tuple[Point | None, str, Area | None]:
    """The point, its source and the area for the report, from the "where" answer.

    With a point the area is None: report_create finds the most detailed area containing the point
    whatever it is given, so looking it up here as well would only run the same query twice.
    """
    where = conversation.data.get("where", {})
    kind = where.get("kind")
    if kind == "point":
        return Point(where["lon"], where["lat"], srid=4326), Report.LocationSource.GPS, None
    if kind == "place":
        point = _place_point(where["id"])
        if point is not None:
            return point, Report.LocationSource.PLACE, None
    if kind == "area":
        area = _areas_with_parents().filter(pk=where["id"]).first()
        if area is not None:
            return None, Report.LocationSource.AREA, area
    return None, Report.LocationSource.AREA, default_area()


def _place_point(place_id: int) -> Point | None:
    """The place's point, None for a place deleted meanwhile. Written out: the ORM took five times
    the CPU of the statement to build this one, on every report that names a place."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT point FROM {Place._meta.db_table} WHERE id = %s", [place_id])  # noqa: S608
        row = cursor.fetchone()
    return GEOSGeometry(row[0]) if row is not None else None


def default_area() -> Area | None:
    """Where a report without a location goes: the configured area, else the only top-level area."""
    if settings.SMS_DEFAULT_AREA_CODE:
        area = _areas_with_parents().filter(code=settings.SMS_DEFAULT_AREA_CODE).first()
        if area is not None:
            return area
    return _areas_with_parents().filter(parent=None).order_by("level", "id").first()


def _areas_with_parents():
    """Areas without their boundaries (large, and not needed here), their parents joined for the
    report's area path (Area.ancestors)."""
    light = [f"{'parent__' * depth}{name}" for depth in range(4) for name in ("boundary", "boundary_display")]
    return Area.objects.select_related("parent__parent__parent").defer(*light)


def arms_answers(conversation: Conversation) -> dict:
    answers = conversation.data.get("arms", {})
    unknown = ArmsSighting.CountBand.UNKNOWN
    return {
        "weapon_type": answers.get("weapon_type", ArmsSighting.WeaponType.UNKNOWN),
        "weapon_count": answers.get("weapon_count", unknown),
        "activity": answers.get("activity", ArmsSighting.Activity.UNKNOWN),
        "people_count": answers.get("people_count", unknown),
    }
