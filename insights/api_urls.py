from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import api

app_name = "insights_api"

urlpatterns = [
    path("v1/aggregates/", api.InstitutionAggregates.as_view(), name="aggregates"),
    path("v1/open-data/aggregates/", api.PublicAggregates.as_view(), name="open_data_aggregates"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="insights_api:schema"), name="docs"),
]
