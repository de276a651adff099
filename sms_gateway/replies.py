"""Every text Convive sends by SMS or WhatsApp, in the reporter's language.

Replies are generic: they never repeat what was reported. Menus list the options a resident
can choose from (categories, weapon types, and the places matching a name the resident sent),
nothing more. Short replies fit one segment; `tests/sms_gateway/test_replies.py` prints each
template's encoding and segment count.
"""

from collections.abc import Callable, Sequence
from functools import lru_cache, wraps

from django.utils.translation import override, pgettext

from reports.models import ArmsSighting, Category, format_tracking_code

from .segments import smart_encode


def sms(render: Callable[..., str]) -> Callable[..., str]:
    """Every reply goes out in GSM-7 where its language allows, as one segment where it fits."""

    @wraps(render)
    def wrapper(*args, **kwargs) -> str:
        return smart_encode(render(*args, **kwargs))

    return wrapper


def fixed(render: Callable[..., str]) -> Callable[..., str]:
    """A reply that depends on nothing but its arguments (a language, a question): translated and
    encoded once per process rather than on every message that gets it."""
    return lru_cache(maxsize=256)(sms(render))


ARMS_MENUS = {  # the questions and their options, in the order asked
    "weapon_type": ArmsSighting.WeaponType,
    "weapon_count": ArmsSighting.CountBand,
    "activity": ArmsSighting.Activity,
    "people_count": ArmsSighting.CountBand,
}


def _numbered(options: Sequence[str]) -> str:
    return "\n".join(f"{n} {label}" for n, label in enumerate(options, start=1))


@sms
def category_menu(language: str, categories: Sequence[Category]) -> str:
    with override(language):
        head = pgettext("sms", "Convive: what happened? Reply with a number:")
        return f"{head}\n{_numbered([c.name for c in categories])}"


@fixed
def choose_number(language: str) -> str:
    with override(language):
        return pgettext("sms", "Please reply with one of the numbers.")


@fixed
def ask_where(language: str) -> str:
    with override(language):
        return pgettext(
            "sms", "Where did it happen? Send the name of the place or neighbourhood, your location, or SKIP."
        )


@sms
def place_menu(language: str, labels: Sequence[str]) -> str:
    with override(language):
        head = pgettext("sms", "Which one? Reply with a number, or 0 to skip:")
        return f"{head}\n{_numbered(labels)}"


@fixed
def place_not_found(language: str) -> str:
    with override(language):
        return pgettext("sms", "We did not find that place. Send another name, or SKIP.")


@fixed
def outside_area(language: str) -> str:
    with override(language):
        return pgettext("sms", "That location is outside the area we serve. Send a place name, or SKIP.")


@fixed
def ask_what(language: str) -> str:
    with override(language):
        return pgettext("sms", "What happened? Describe it in one message. Do not send names or phone numbers.")


@fixed
def arms_menu(language: str, question: str) -> str:
    with override(language):
        heads = {
            "weapon_type": pgettext("sms", "What kind of weapon? Reply with a number:"),
            "weapon_count": pgettext("sms", "How many weapons? Reply with a number:"),
            "activity": pgettext("sms", "What was done with it? Reply with a number:"),
            "people_count": pgettext("sms", "How many people were involved? Reply with a number:"),
        }
        labels = [str(label) for _, label in ARMS_MENUS[question].choices]
        return f"{heads[question]}\n{_numbered(labels)}"


@fixed
def confirm(language: str) -> str:
    with override(language):
        return pgettext("sms", "Reply 1 to send the report, 2 to send it and get news of it, 3 to cancel.")


@sms
def sent(language: str, code: str) -> str:
    with override(language):
        text = pgettext("sms", "Report received. Code: %(code)s. Keep it private. To follow it send STATUS %(code)s")
        return text % {"code": format_tracking_code(code)}


@fixed
def cancelled(language: str) -> str:
    with override(language):
        return pgettext("sms", "Report cancelled. Send any message to start again.")


@fixed
def help_text(language: str) -> str:
    with override(language):
        return pgettext(
            "sms",
            "Convive: send a message to report. STATUS + code to follow a report. LANG EN/ES/FR/HT/PT. STOP to end.",
        )


@fixed
def resumed(language: str) -> str:
    with override(language):
        return pgettext("sms", "Messages turned back on. Send any message to report.")


@fixed
def language_set(language: str) -> str:
    with override(language):
        return pgettext("sms", "Language changed. Send any message to report.")


STATUS_WORDS = {
    "new": lambda: pgettext("sms status", "received, waiting for review"),
    "verified": lambda: pgettext("sms status", "confirmed by the committee"),
    "rejected": lambda: pgettext("sms status", "closed"),
    "duplicate": lambda: pgettext("sms status", "joined with another report"),
    "in_action": lambda: pgettext("sms status", "in action"),
    "resolved": lambda: pgettext("sms status", "resolved"),
}


@sms
def status(language: str, code: str, report_status: str) -> str:
    with override(language):
        text = pgettext("sms", "Report %(code)s: %(status)s.")
        return text % {"code": format_tracking_code(code), "status": STATUS_WORDS[report_status]()}


@fixed
def status_unknown(language: str) -> str:
    with override(language):
        return pgettext("sms", "We found no report with that code. Check it and try again.")


@sms
def status_update(language: str, code: str, report_status: str) -> str:
    with override(language):
        text = pgettext("sms", "Convive: news about report %(code)s: %(status)s.")
        return text % {"code": format_tracking_code(code), "status": STATUS_WORDS[report_status]()}


@fixed
def photo_received(language: str) -> str:
    with override(language):
        return pgettext("sms", "Photo received.")
