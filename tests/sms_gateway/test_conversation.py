"""Guided SMS and WhatsApp conversations, from the first message to a stored report."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point

from community.models import Place
from reports.models import Category, Report
from sms_gateway.models import Conversation, Reporter
from sms_gateway.tasks import conversations_expire

from .conftest import Phone

pytestmark = pytest.mark.django_db


def number_of(category_code: str) -> str:
    codes = list(Category.objects.filter(is_active=True).order_by("sort_order", "code").values_list("code", flat=True))
    return str(codes.index(category_code) + 1)


def test_it_takes_a_full_report_in_spanish(phone, geo):
    assert "Responda con un numero" in phone.say("Hola")
    assert "OMITIR" in phone.say(number_of("gunfire"))
    assert "Describalo en un mensaje" in phone.say("parque central")
    assert "tipo de arma" in phone.say("Se oyeron muchos disparos anoche")
    phone.say("1")  # handgun
    phone.say("2")  # 2 to 5
    phone.say("3")  # fired
    assert "3 para cancelar" in phone.say("4")  # people: unknown
    reply = phone.say("1")

    report = Report.objects.get()
    assert f"Codigo: {report.formatted_code()}" in reply
    assert (report.category.code, report.channel, report.language) == ("gunfire", "sms", "es")
    assert report.area == geo["west"] and report.location_source == "place"
    assert report.description == "Se oyeron muchos disparos anoche"
    assert (report.arms.weapon_type, report.arms.weapon_count, report.arms.activity) == ("handgun", "2-5", "fired")
    assert report.arms.people_count == "unknown"
    assert report.incomplete is False
    assert list(report.events.values_list("to_status", flat=True)) == ["new"]
    conversation = Conversation.objects.get()
    assert (conversation.is_open, conversation.state, conversation.report) == (False, "done", report)


def test_it_takes_a_full_report_in_haitian_creole(phone, geo):
    assert "Reponn ak yon nimewo" in phone.say("Bonjou")
    assert "SOTE" in phone.say(number_of("threats_extortion"))
    assert "Esplike l nan yon mesaj" in phone.say("El Carmen")
    assert "3 pou anile" in phone.say("Gen moun k ap mande lajan pou n pa mouri")
    reply = phone.say("1")
    report = Report.objects.get()
    assert f"Kòd: {report.formatted_code()}" in reply
    assert (report.category.code, report.area, report.language) == ("threats_extortion", geo["east"], "ht")
    assert report.location is None and report.location_source == "area"


def test_it_takes_a_full_report_in_english_with_the_long_first_message_as_description(phone, geo):
    first = "There is a man selling guns from a car near the park every night"
    assert "Language changed" in phone.say("LANG EN")
    assert "what happened? Reply with a number" in phone.say(first)
    assert "Where did it happen" in phone.say(number_of("arms_cache"))
    assert "What kind of weapon" in phone.say("Parque Central")  # the description is already there
    for answer in ("2", "3", "4", "2"):
        phone.say(answer)
    reply = phone.say("yes")
    report = Report.objects.get()
    assert f"Code: {report.formatted_code()}" in reply
    assert report.description == first
    assert report.area == geo["west"] and report.category.code == "arms_cache"
    assert report.arms.activity == "traded"


def test_it_offers_a_numbered_choice_when_a_place_name_is_ambiguous(phone, geo):
    Place.objects.create(name="Parque Norte", aliases=["El Parque"], point=geo["east_point"], area=geo["east"])
    phone.say("Hola")
    phone.say(number_of("robbery"))
    menu = phone.say("el parque")
    assert "0 para omitir" in menu
    assert "1 Parque Central" in menu and "2 Parque Norte" in menu
    assert "Describalo" in phone.say("2")
    phone.say("Me robaron el celular con un cuchillo")
    phone.say("1")
    assert Report.objects.get().area == geo["east"]


def test_it_asks_again_then_keeps_an_unknown_place_as_text(phone, geo):
    phone.say("Hola")
    phone.say(number_of("drug_dealing"))
    assert "No encontramos ese lugar" in phone.say("la esquina de don Chepe")
    assert "Describalo" in phone.say("atras de la pulperia azul")
    phone.say("Venden droga todas las tardes")
    phone.say("1")
    report = Report.objects.get()
    assert "la esquina de don Chepe" in report.description and "pulperia azul" in report.description
    assert report.area == geo["country"]  # the default area when nothing better is known


def test_it_takes_a_whatsapp_location_as_the_answer_to_where(client, geo):
    phone = Phone(client, channel="whatsapp")
    phone.say("Hola")
    phone.say(number_of("assault"))
    point = geo["east_point"]
    reply = phone.say("", Latitude=str(point.y), Longitude=str(point.x), Address="", Label="")
    assert "Describalo" in reply
    phone.say("Golpearon a un joven")
    phone.say("1")
    report = Report.objects.get()
    assert (report.channel, report.location_source, report.area) == ("whatsapp", "gps", geo["east"])
    assert report.location.equals_exact(Point(point.x, point.y, srid=4326), 1e-9)


def test_it_refuses_a_location_outside_every_area(client, geo):
    phone = Phone(client, channel="whatsapp")
    phone.say("Hola")
    phone.say(number_of("assault"))
    assert "fuera de nuestra zona" in phone.say("", Latitude="10.0", Longitude="-60.0")
    assert Conversation.objects.get().state == Conversation.State.WHERE


def test_it_keeps_asking_for_a_number_on_the_menu(phone, geo):
    phone.say("Hola")
    assert "Por favor responda con uno de los numeros" in phone.say("99")
    assert Conversation.objects.get().state == Conversation.State.CATEGORY


def test_it_cancels_when_asked(phone, geo):
    phone.say("Hola")
    phone.say(number_of("other"))
    phone.say("SKIP")
    phone.say("Algo raro pasa en la cancha")
    assert "Reporte cancelado" in phone.say("3")
    assert Report.objects.count() == 0
    assert Conversation.objects.get().state == Conversation.State.CANCELLED


def test_it_stops_and_starts_in_any_language(phone, geo):
    assert phone.say("KANPE") == ""
    assert Reporter.objects.get().opted_out
    assert phone.say("Hola") == ""  # stored and handled, but no reply to an opted-out phone
    assert "Mensajes reactivados" in phone.say("COMENZAR")
    reporter = Reporter.objects.get()
    assert not reporter.opted_out and reporter.language == "es"
    for word in ("STOP", "parar", "Arrêt", "kanpe", "SAIR"):
        assert phone.say(word) == ""
        assert Reporter.objects.get().opted_out
        phone.say("START")


def test_it_explains_itself_on_help(phone, geo):
    assert "ESTADO + codigo" in phone.say("AYUDA")
    assert "STATUS + code" in phone.say("help")
    assert "ETA + kòd" in phone.say("ÈD")
    assert Conversation.objects.count() == 0


def test_it_answers_status_by_code_without_content(phone, geo):
    phone.say("Hola")
    phone.say(number_of("assault"))
    phone.say("Parque Central")
    phone.say("Pelea con machete frente a la escuela")
    phone.say("1")
    report = Report.objects.get()
    reply = phone.say(f"ESTADO {report.tracking_code.lower()}")
    assert reply == f"Reporte {report.formatted_code()}: recibido, en espera de revision."
    Report.objects.update(status="verified")
    assert "confirmado por el comite" in phone.say(f"status {report.formatted_code()}")
    assert "No encontramos un reporte" in phone.say("ESTADO ABCDE-23456")
    for secret in ("machete", "Parque", "escuela", "Agresi"):
        assert secret not in reply


def test_it_changes_language_on_request(phone, geo):
    phone.say("Hola")
    assert "Language changed" in phone.say("LANG EN")
    assert "Please reply with one of the numbers" in phone.say("nonsense")
    assert Conversation.objects.get().language == "en"


def test_it_turns_an_idle_conversation_into_an_incomplete_report(phone, geo):
    phone.say("Hola")
    phone.say(number_of("gunfire"))
    phone.say("Parque Central")
    Conversation.objects.update(last_message_at=Conversation.objects.get().last_message_at - timedelta(minutes=31))
    assert conversations_expire() == 1
    report = Report.objects.get()
    assert report.incomplete and report.category.code == "gunfire" and report.area == geo["west"]
    assert Conversation.objects.get().state == Conversation.State.EXPIRED
    assert "Responda con un numero" in phone.say("Hola")  # a fresh conversation
    assert Conversation.objects.filter(is_open=True).count() == 1


def test_it_expires_an_idle_conversation_when_the_next_message_arrives(phone, geo):
    phone.say("Hola")
    phone.say(number_of("unsafe_place"))
    Conversation.objects.update(last_message_at=Conversation.objects.get().last_message_at - timedelta(hours=2))
    phone.say("Hola")
    assert Report.objects.get().incomplete
    assert Conversation.objects.filter(is_open=True).count() == 1


def test_it_does_not_make_a_report_from_a_greeting_alone(phone, geo):
    phone.say("Hola")
    Conversation.objects.update(last_message_at=Conversation.objects.get().last_message_at - timedelta(minutes=31))
    conversations_expire()
    assert Report.objects.count() == 0
    assert Conversation.objects.get().state == Conversation.State.EXPIRED
