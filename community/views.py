"""Action plans for committees and institution analysts. (Being written.)"""

from django.http import HttpRequest, HttpResponse


def plans(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
