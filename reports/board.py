"""The committee board: list and map of the reports a member may see. (Being written.)"""

from django.http import HttpRequest, HttpResponse


def board(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)


def board_geojson(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
