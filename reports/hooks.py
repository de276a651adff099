"""Listeners told that a report's status changed: after commit (news), or inside the transaction
(counts that must never disagree with statuses).

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


# Called inside the status change's transaction with (report, was_validated, is_validated): the
# insights rollup registers one, so aggregates move in the same commit as the status.
_validation_listeners: list[Callable[[object, bool, bool], None]] = []


def validation_listener_register(listener: Callable[[object, bool, bool], None]) -> None:
    if listener not in _validation_listeners:
        _validation_listeners.append(listener)


def validation_listeners() -> list[Callable[[object, bool, bool], None]]:
    return list(_validation_listeners)
