"""Login for committee members, institution analysts and administrators, throttled against guessing."""

import hashlib
import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import ngettext

from . import ratelimit
from .selectors import committee_ids_for, jurisdiction_area_ids

# --- Login -------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login, refused with 429 once an address or a username has used up its attempts."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Counted before the password is checked, so a guesser learns nothing once refused.
        if not _login_allowed(request):
            return self._refused()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(hours=settings.SESSION_COOKIE_AGE // 3600, **kwargs)

    def get_default_redirect_url(self) -> str:
        user = self.request.user
        if not user.is_superuser and not committee_ids_for(user) and jurisdiction_area_ids(user):
            return reverse("plans:institution_plans")
        return super().get_default_redirect_url()

    def _refused(self) -> HttpResponse:
        window = settings.LOGIN_ATTEMPT_WINDOW_SECONDS
        minutes = math.ceil(window / 60)
        form = self.get_form_class()(self.request, initial={"username": self.request.POST.get("username", "")})
        refusal = ngettext(
            "Too many login attempts. Please wait %(minutes)d minute and try again.",
            "Too many login attempts. Please wait %(minutes)d minutes and try again.",
            minutes,
        ) % {"minutes": minutes}
        response = self.render_to_response(self.get_context_data(form=form, refusal=refusal), status=429)
        response["Retry-After"] = str(window)
        return response


def _login_allowed(request: HttpRequest) -> bool:
    limit, window = settings.LOGIN_ATTEMPTS_PER_WINDOW, settings.LOGIN_ATTEMPT_WINDOW_SECONDS
    # Both counters move on every attempt: one stops guessing from an address, the other
    # guessing one account's password from many addresses.
    by_address = ratelimit.allow(request, scope="login", limit=limit, window=window)
    by_username = _username_allow(request.POST.get("username", ""), limit=limit, window=window)
    return by_address and by_username


def _username_allow(username: str, *, limit: int, window: int) -> bool:
    # ratelimit.allow counts per client address only; this is the same fixed window, per name.
    name = username.strip().casefold()
    if not name:
        return True
    # Only a hash of the name reaches the cache, as with addresses.
    key = "rl:login-user:" + hashlib.sha256(f"{settings.SECRET_KEY}:{name}".encode()).hexdigest()[:32]
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit
