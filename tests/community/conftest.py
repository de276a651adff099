import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_commands():
    # Management commands speak the deployment's language (LANGUAGE_CODE); these tests read English.
    with translation.override("en"):
        yield
