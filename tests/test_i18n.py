"""Residents read Convive in English, Spanish, French, Haitian Creole or Portuguese."""

import pytest

pytestmark = pytest.mark.django_db

HEADINGS = {
    "en": "Report a safety concern",
    "es": "Reportar un problema de seguridad",
    "fr": "Signaler un problème de sécurité",
    "ht": "Rapòte yon pwoblèm sekirite",
    "pt": "Denunciar um problema de segurança",
}


@pytest.mark.parametrize("language", HEADINGS)
def test_it_follows_accept_language(client, geo, language):
    response = client.get("/report/", HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    body = response.content.decode()
    assert f'<html lang="{language}">' in body
    assert HEADINGS[language] in body


def test_it_switches_language_with_the_footer_buttons(client, geo):
    response = client.post("/i18n/setlang/", {"language": "ht", "next": "/report/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    page = client.get("/report/", HTTP_ACCEPT_LANGUAGE="en")
    assert HEADINGS["ht"] in page.content.decode()
    assert '<html lang="ht">' in page.content.decode()


def test_it_translates_form_errors_and_category_names(client, geo):
    response = client.post("/report/", {}, HTTP_ACCEPT_LANGUAGE="ht")
    body = response.content.decode()
    assert response.status_code == 400
    assert "Moun ak zam oswa zam yo wè" in body
    assert "Please choose what happened." not in body
