"""Orange, Wanadoo and La Poste: the reply they word without a label, as sisimai's FrancePTT."""

from __future__ import annotations

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.rhost.common import Receiver, table

FRANCEPTT = Receiver(
    "franceptt",
    ("orange.fr", ".orange.fr", "wanadoo.fr", ".wanadoo.fr", "laposte.net", ".laposte.net"),
    # Their replies end with a label ("LPN007_426", "OFR_506") read by providers.py; the
    # SPF refusal carries none, only the French "check your domain's SPF/DNS" sentence.
    table((Reason.AUTH_FAILURE, r"spf/dns de votre nom de domaine")),
)
