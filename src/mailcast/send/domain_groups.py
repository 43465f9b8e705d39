"""Which provider's group a recipient domain belongs to, by the settings' patterns."""

from __future__ import annotations

import fnmatch
from functools import lru_cache

from mailcast.config import DomainGroup


class DomainGroups:
    """Group names by domain, looked up once per domain; a domain in no group is its own."""

    def __init__(self, groups: dict[str, DomainGroup]) -> None:
        self.groups = groups
        self._patterns = [
            (name, pattern.lower()) for name, group in groups.items() for pattern in group.patterns
        ]
        self.group_of = lru_cache(maxsize=100_000)(self._find)

    def limits(self, key: str) -> DomainGroup | None:
        return self.groups.get(key)

    def ceiling(self, key: str) -> float | None:
        """The group's own rate limit, if it has one (messages per second)."""
        group = self.groups.get(key)
        return group.rate_per_second if group and group.rate_per_second else None

    def _find(self, domain: str) -> str:
        domain = domain.lower()
        for name, pattern in self._patterns:
            if fnmatch.fnmatchcase(domain, pattern):
                return name
        return domain
