"""What the dashboard's forms share: field reading, refusals and their status, roles, zones."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from mailcast.audience.target import TargetError
from mailcast.deliveries.errors import DeliveryError
from mailcast.domain import Action, TransitionError, missing_role
from mailcast.recurring.recurrence import RecurrenceError
from mailcast.recurring.service import RecurringError
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied, User

# Addresses typed in a text area: one a line, or separated by commas, semicolons or spaces.
SEPARATORS = re.compile(r"[\s,;]+")


class FormError(ValueError):
    """A field of a form cannot be read; the message names it."""


# A refused form or action: how it is answered (the page comes back, the reason above). The
# first match wins: a RecurringError is a DeliveryError, but what the form said is wrong.
REFUSALS: tuple[tuple[type[Exception], int], ...] = (
    (PermissionDenied, 403),
    (NotFound, 404),
    (FormError, 422),
    (TargetError, 422),
    (RecurrenceError, 422),
    (RecurringError, 422),
    (TransitionError, 409),
    (DeliveryError, 409),
)
REFUSED = tuple(kind for kind, _ in REFUSALS)


def status_of(refusal: Exception) -> int:
    """The HTTP status of a refusal; any other error is a user's mistake (422)."""
    return next((code for kind, code in REFUSALS if isinstance(refusal, kind)), 422)


def text(value: object) -> str:
    """A form field as text ("" when absent, or a file where text was expected)."""
    return value if isinstance(value, str) else ""


def missing(user: User, wanted: Mapping[str, Action]) -> dict[str, Any]:
    """The role the user lacks for each thing a page offers (None: allowed), by its key; Any,
    as the pages take them among their other keywords."""
    return {
        key: (r.value if (r := missing_role(user.roles, a)) else None) for key, a in wanted.items()
    }


def refused(
    show: Callable[..., Response], request: Request, session: Any, exc: Exception
) -> Response:
    """The page again, saying why: 403 for a missing role, 422 for what the form said."""
    return show(request, session, error=str(exc), code=status_of(exc))


@cache
def zone_names() -> tuple[str, ...]:
    """The IANA names offered in the forms (any other valid name is accepted as well)."""
    return tuple(sorted(zoneinfo.available_timezones()))
