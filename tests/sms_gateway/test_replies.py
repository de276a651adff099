"""Every SMS template: its encoding and segment count per language, and what it never says."""

from functools import partial

import pytest

from reports.models import Category
from sms_gateway import replies
from sms_gateway.keywords import LANGUAGES
from sms_gateway.segments import encoding, segments

pytestmark = pytest.mark.django_db
CODE = "ABCDE23456"

# Short replies: one segment in every language.
SINGLE = {
    "choose_number": lambda lang: replies.choose_number(lang),
    "ask_where": lambda lang: replies.ask_where(lang),
    "place_not_found": lambda lang: replies.place_not_found(lang),
    "outside_area": lambda lang: replies.outside_area(lang),
    "ask_what": lambda lang: replies.ask_what(lang),
    "confirm": lambda lang: replies.confirm(lang),
    "sent": lambda lang: replies.sent(lang, CODE),
    "cancelled": lambda lang: replies.cancelled(lang),
    "help": lambda lang: replies.help_text(lang),
    "resumed": lambda lang: replies.resumed(lang),
    "language_set": lambda lang: replies.language_set(lang),
    "status": lambda lang: replies.status(lang, CODE, "in_action"),
    "status_unknown": lambda lang: replies.status_unknown(lang),
    "status_update": lambda lang: replies.status_update(lang, CODE, "verified"),
    "photo_received": lambda lang: replies.photo_received(lang),
}
# Menus list options, so they may need more than one segment.
MENUS = {
    "category_menu": lambda lang: replies.category_menu(lang, list(Category.objects.filter(is_active=True))),
    "place_menu": lambda lang: replies.place_menu(lang, ["Parque Central (La Ceiba)", "Parque Norte (El Carmen)"]),
    **{f"arms_{q}": partial(lambda q, lang: replies.arms_menu(lang, q), q) for q in replies.ARMS_MENUS},
}


def test_it_prints_the_encoding_and_segments_of_every_template(capsys):
    rows = []
    for name, render in {**SINGLE, **MENUS}.items():
        for language in LANGUAGES:
            text = render(language)
            rows.append(f"{name:<22} {language}  {encoding(text):<6} {segments(text)} segment(s)  {len(text):>4} chars")
    with capsys.disabled():
        print("\n" + "\n".join(rows))
    assert len(rows) == len(LANGUAGES) * (len(SINGLE) + len(MENUS))


@pytest.mark.parametrize("name", SINGLE)
@pytest.mark.parametrize("language", LANGUAGES)
def test_it_fits_a_short_reply_in_one_gsm_segment(name, language):
    text = SINGLE[name](language)
    assert segments(text) == 1, (text, encoding(text), len(text))
    assert encoding(text) == "GSM-7", text


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_translates_every_reply(language):
    if language == "en":
        return
    for name, render in SINGLE.items():
        with_english = render("en")
        assert render(language) != with_english, (name, language)


def test_it_counts_segments_like_carriers():
    assert (encoding("a" * 160), segments("a" * 160), segments("a" * 161)) == ("GSM-7", 1, 2)
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension characters count twice
    assert (encoding("ação"), segments("ã" * 70), segments("ã" * 71)) == ("UCS-2", 1, 2)
    assert segments("🔫" * 35) == 1 and segments("🔫" * 36) == 2  # surrogate pairs count twice


def test_it_never_repeats_report_content_in_status_messages():
    for language in LANGUAGES:
        for status in replies.STATUS_WORDS:
            text = replies.status_update(language, CODE, status)
            assert "ABCDE-23456" in text
            assert segments(text) == 1


def test_it_folds_accents_outside_gsm7_but_keeps_other_scripts():
    from sms_gateway.segments import smart_encode

    assert smart_encode("Agresión ¿qué pasó? Ação, não — “já”") == 'Agresion ¿qué paso? Acao, nao - "ja"'
    assert smart_encode("ñandú à è ù ò") == "ñandu à è ù ò"
    assert smart_encode("Disparos 🔫 aquí") == "Disparos 🔫 aquí"  # an emoji needs UCS-2 anyway
