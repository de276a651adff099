"""The aggregates API: the released tables as JSON, documented by drf-spectacular.

Tier B (`/api/v1/aggregates/`) goes through the same access check as the dashboard and the
exports; tier A (`/api/v1/open-data/aggregates/`) is open. A table that cannot be released is
still a valid answer: 200 with status "refused" and the reason, so clients branch on one field
rather than on an error code that also means "bad parameters" (400).
"""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.models import Category, Report

from . import exports
from .aggregates import PUBLIC, Scope, TableQueryForm, aggregate_table, institution_scope_for_user, table_query_from
from .tables import AGE_VALUES, LEVEL_NAMES, SEX_VALUES

DIMENSION_HELP = gettext_lazy('Present when the table has this dimension; "" means not stated.')


class AreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.ChoiceField(choices=list(LEVEL_NAMES))


class RowSerializer(serializers.Serializer):
    """One released cell. Fields are declared for the schema; rows are written out directly,
    since a table can hold tens of thousands of them."""

    area = AreaSerializer()
    period = serializers.DateField(help_text=gettext_lazy("First day of the period."))
    group = serializers.ChoiceField(choices=Category.Group.values, required=False, help_text=DIMENSION_HELP)
    category = serializers.CharField(required=False, help_text=DIMENSION_HELP)
    channel = serializers.ChoiceField(choices=Report.Channel.values, required=False, help_text=DIMENSION_HELP)
    sex = serializers.ChoiceField(choices=SEX_VALUES, required=False, help_text=DIMENSION_HELP)
    age = serializers.ChoiceField(choices=AGE_VALUES, required=False, help_text=DIMENSION_HELP)
    count = serializers.IntegerField(
        allow_null=True,
        help_text=gettext_lazy("Null when withheld (tier B) or below 10 (tier A); rounded to 5 at tier A."),
    )
    shown = serializers.CharField(help_text=gettext_lazy('The value as displayed: a number, "x" or "<10".'))

    def to_representation(self, row) -> dict:
        return {"area": exports.area_record(row), **exports.count_record(row)}


class TableSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=["A", "B"])
    level = serializers.ChoiceField(choices=list(LEVEL_NAMES))
    period = serializers.CharField()
    dims = serializers.ListField(child=serializers.CharField())
    family = serializers.CharField()
    threshold = serializers.IntegerField(help_text=gettext_lazy("Smallest count shown as a number."))


class AggregateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["released", "refused"])
    message = serializers.CharField(allow_null=True, help_text=gettext_lazy("Why the table was refused."))
    table = TableSerializer()
    rows = RowSerializer(many=True)
    margins = serializers.DictField(
        child=RowSerializer(many=True),
        help_text=gettext_lazy(
            'Released cells of the tables this one adds up to: "area" (coarser areas), "period" '
            '(coarser periods), "all_<dimension>" (without that dimension).'
        ),
    )
    suppressed = serializers.IntegerField(help_text=gettext_lazy("How many cells are withheld."))


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def _query_parameters() -> list[OpenApiParameter]:
    """TableQueryForm's fields, as the schema's query parameters."""
    enums = {
        "group_is": Category.Group.values,
        "channel_is": Report.Channel.values,
        "sex_is": [value for value in SEX_VALUES if value] + ["none"],
        "age_is": [value for value in AGE_VALUES if value] + ["none"],
    }
    parameters = []
    for name, field in TableQueryForm.base_fields.items():
        choices = [value for value, _label in field.choices] if isinstance(field, forms.ChoiceField) else None
        parameters.append(
            OpenApiParameter(
                name,
                OpenApiTypes.DATE if isinstance(field, forms.DateField) else OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description=format_lazy("{}: {}", field.label, field.help_text) if field.help_text else field.label,
                enum=choices or enums.get(name),
                default=field.initial,
            )
        )
    return parameters


def _answer(request, scope: Scope) -> Response:
    form = TableQueryForm(request.query_params)
    if not form.is_valid():
        errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
        return Response({"detail": _("Invalid parameters."), "errors": errors}, status=400)
    result = aggregate_table(scope, table_query_from(form.cleaned_data))
    body = {
        "status": "released" if result.released else "refused",
        "message": result.refused,
        "table": exports.table_meta(result),
        "rows": result.rows,
        "margins": result.margins,
        "suppressed": result.suppressed,
    }
    return Response(AggregateSerializer(body).data)


AGGREGATE_RESPONSES = {
    200: OpenApiResponse(AggregateSerializer, description=gettext_lazy("The table, released or refused.")),
    400: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Invalid parameters.")),
}


class InstitutionAggregates(APIView):
    """Tier B: the jurisdiction's released tables, for its institution's analysts."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="aggregates",
        tags=["aggregates"],
        summary="Institution aggregates (tier B)",
        description=gettext_lazy(
            "Logged-in institution analysts (and administrators) only; anyone else gets 404. "
            "Rows cover only the areas of the analyst's jurisdiction."
        ),
        parameters=_query_parameters(),
        responses={
            **AGGREGATE_RESPONSES,
            403: OpenApiResponse(description=gettext_lazy("Not logged in.")),
            404: OpenApiResponse(description=gettext_lazy("Not an analyst, or an area outside the jurisdiction.")),
        },
    )
    def get(self, request):
        response = _answer(request, institution_scope_for_user(request.user))
        response["Cache-Control"] = "private, no-store"
        return response


class PublicAggregates(APIView):
    """Tier A: the open-data tables, for anyone."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="open_data_aggregates",
        tags=["aggregates"],
        summary="Open-data aggregates (tier A)",
        parameters=_query_parameters(),
        responses={**AGGREGATE_RESPONSES, 404: OpenApiResponse(description=gettext_lazy("Unknown area."))},
    )
    def get(self, request):
        return _answer(request, PUBLIC)
