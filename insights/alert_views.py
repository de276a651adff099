"""Early-warning alerts: listed for institution analysts and committee members, acknowledged there."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .models import Alert

PAGE_SIZE = 50


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        # Only committees read the words; institutions see that the alert was acknowledged.
        help_text=_("What was done or found, for the committees. Institutions see only that it was acknowledged."),
    )


def _form(row: selectors.AlertRow, invalid: dict[int, AcknowledgeForm]) -> AcknowledgeForm | None:
    if not row.is_open:
        return None
    # One form per open alert on the page: their field ids must not collide.
    return invalid.get(row.id) or AcknowledgeForm(auto_id=f"id_alert_{row.id}_%s")


def _page(request: HttpRequest, *, invalid: dict[int, AcknowledgeForm] | None = None, status: int = 200):
    visible, committee_viewer = selectors.alert_scope(request.user)
    if visible is None:  # neither analyst, committee member nor administrator
        raise Http404
    alerts = selectors.alert_list(Alert.objects.filter(visible))
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    invalid = invalid or {}
    rows = [
        (row, _form(row, invalid)) for row in selectors.alert_rows(page.object_list, committee_viewer=committee_viewer)
    ]
    return render(request, "insights/alerts.html", {"rows": rows, "page": page}, status=status)


@login_required
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_user(request.user, alert_id)
    form = AcknowledgeForm(request.POST, auto_id=f"id_alert_{alert.id}_%s")
    if not form.is_valid():
        return _page(request, invalid={alert.id: form}, status=400)
    try:
        services.alert_acknowledge(alert=alert, actor=request.user, note=form.cleaned_data["note"])
    except services.AlertRefused:
        messages.error(request, _("This alert was acknowledged meanwhile."))
        return redirect("alerts:alerts")
    messages.success(request, _("Alert acknowledged."))
    return redirect("alerts:alerts")
