"""Report detail and triage actions for committee members. (Being written.)"""

from django.http import HttpRequest, HttpResponse


def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    return HttpResponse(status=501)


def report_action(request: HttpRequest, report_id: int, action: str) -> HttpResponse:
    return HttpResponse(status=501)


def photo_file(request: HttpRequest, photo_id: int, kind: str) -> HttpResponse:
    return HttpResponse(status=501)
