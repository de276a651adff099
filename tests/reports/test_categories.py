import pytest

from reports.models import Category

pytestmark = pytest.mark.django_db


def test_it_loads_the_categories_with_five_languages():
    categories = Category.objects.all()
    assert categories.count() >= 15
    for category in categories:
        assert set(category.names) >= {"en", "es", "fr", "ht", "pt"}, category.code
    assert set(Category.objects.filter(is_sensitive=True).values_list("code", flat=True)) == {
        "partner_violence",
        "sexual_violence",
    }
    assert set(Category.objects.filter(is_arms=True).values_list("code", flat=True)) == {
        "armed_person",
        "gunfire",
        "arms_cache",
    }
