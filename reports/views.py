from django.http import HttpRequest, HttpResponse


def report_form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
