"""A fixed-window counter per client, in the cache (Redis in production)."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_key(request: HttpRequest) -> str:
    # Only a hash of the address reaches the cache: addresses are personal data.
    address = request.META.get("REMOTE_ADDR", "")
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()[:32]


def allow(request: HttpRequest, *, scope: str, limit: int, window: int) -> bool:
    """Count this request; False once the client has made `limit` requests in the window."""
    key = f"rl:{scope}:{client_key(request)}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit
