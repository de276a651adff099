"""Listeners told, after commit, that a report's status changed.

The SMS gateway registers one (a generic status message to reporters who asked for news);
reports does not import sms_gateway, so the dependency keeps pointing one way.
"""

from collections.abc import Callable

_status_listeners: list[Callable[[int], None]] = []


def status_listener_register(listener: Callable[[int], None]) -> None:
    if listener not in _status_listeners:
        _status_listeners.append(listener)


def status_listeners() -> list[Callable[[int], None]]:
    return list(_status_listeners)
