"""The things every service function needs: settings, database, clock and signing keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from mailcast.clock import Clock, SystemClock
from mailcast.compose.dkim import DkimKeys, DkimSigner, load_private_key
from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import Settings
from mailcast.store.db import Database
from mailcast.store.secrets import get_or_create_secret
from mailcast.tracking.tokens import TokenSigner


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Context:
        return cls(settings, Database(settings.database_url), clock or SystemClock())

    @cached_property
    def secret(self) -> str:
        if self.settings.secret_key:
            return self.settings.secret_key
        with self.db.write() as conn:
            return get_or_create_secret(conn, "signing_key")

    @cached_property
    def signer(self) -> EnvelopeSigner:
        s = self.settings
        return EnvelopeSigner(self.secret, s.bounce_domain, s.message_id_domain)

    @cached_property
    def dkim(self) -> DkimKeys:
        """The DKIM keys, read once (the settings checked them already)."""
        keys = self.settings.dkim.keys
        return DkimKeys(
            DkimSigner(k.domain, k.selector, load_private_key(k.private_key_file)) for k in keys
        )

    @cached_property
    def token_signer(self) -> TokenSigner:
        keys = [tuple(key.split(":", 1)) for key in self.settings.tracking.keys]
        if any(len(key) != 2 for key in keys):
            raise ValueError("tracking keys are written 'id:secret'")
        return TokenSigner([(k[0], k[1]) for k in keys] or [("t0", f"tracking:{self.secret}")])
