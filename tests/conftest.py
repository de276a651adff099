"""The shared cast: a resident, members of committees A and B, an institution analyst,
an administrator and anonymous; and a tiny geography for them to live in."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from community.models import Committee, Institution, Membership

from .factories import build_geography

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real hashers are slow on purpose; the tests only need logins to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Local-memory caches outlive a test's rolled-back database; released tables are cached.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def geo(db) -> dict:
    return build_geography()


def _user(username: str, **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


@pytest.fixture
def cast(geo) -> dict:
    committee_a = Committee.objects.create(name="Comité La Ceiba")
    committee_a.areas.add(geo["west"])
    committee_b = Committee.objects.create(name="Comité El Carmen")
    committee_b.areas.add(geo["east"])
    member_a, member_b = _user("ana"), _user("beto")
    Membership.objects.create(user=member_a, committee=committee_a)
    Membership.objects.create(user=member_b, committee=committee_b)
    institution = Institution.objects.create(name="Secretaría de Seguridad, Norte")
    institution.jurisdiction.add(geo["region"])
    analyst = _user("carla")
    institution.analysts.add(analyst)
    admin = _user("admin", is_staff=True, is_superuser=True)
    return {
        "committee_a": committee_a,
        "committee_b": committee_b,
        "member_a": member_a,
        "member_b": member_b,
        "institution": institution,
        "analyst": analyst,
        "admin": admin,
    }


@pytest.fixture
def client_for():
    def login(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    # One test database per pytest process, so that concurrent runs on one machine never collide.
    from django.conf import settings

    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = f"test_{settings.DATABASES['default']['NAME']}_{os.getpid()}"
