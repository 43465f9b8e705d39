"""docs/lifecycle.md, generated from domain.py: every state, every allowed transition and why.

Run `python -m mailcast.docs_lifecycle > docs/lifecycle.md`; a test fails when the committed
file differs, or when a transition of `domain.TRANSITIONS` has no cause written here.
"""

from __future__ import annotations

from mailcast.domain import (
    RETRY_COLOUR,
    RETRY_LABEL,
    STIBEE_LABELS,
    TRANSITIONS,
    DeliveryState,
)

S = DeliveryState

MEANINGS: dict[DeliveryState, str] = {
    S.DRAFT: "Being written; any edit is possible. Preparation must run before a send.",
    S.PREPARING: "Preparation runs: target, filtering rules, one render per recipient, "
    "control rules. Nothing is sent.",
    S.READY: "Prepared without a blocking error; waiting for Confirm send.",
    S.PENDING_APPROVAL: "Prepared; waiting for a user with approve_deliveries.",
    S.APPROVED: "The prepared version is approved; waiting for Confirm send.",
    S.PENDING_CONFIRMATION: "An occurrence of a recurring delivery, prepared, waiting for a "
    "start_deliveries user to confirm it.",
    S.SCHEDULED: "Confirmed with a future send date; the scheduler starts it at that date. "
    "Cancelling returns it to draft.",
    S.SENDING: "Messages leave in batches. Shown as `sending (retry)` while only retries are "
    "left to send.",
    S.PAUSED: "Sending is suspended; the remaining messages stay queued.",
    S.SENT: "Every message was handed to the MTA or failed; feedback and retries go on until "
    "the validity period ends (shown as `sending (retry)` while retries are left).",
    S.FINISHED: "The validity period is over; the figures are final.",
    S.STOPPED: "Sending was ended by a user; the remaining messages are not sent.",
    S.ERROR: "The send could not go on (the reason is shown); duplicate it to try again.",
    S.SKIPPED: "An occurrence left unconfirmed until the next one came due; never sent.",
}

# What makes each allowed transition: a service function (and the role it checks), or a job.
CAUSES: dict[tuple[DeliveryState, DeliveryState], str] = {
    (S.DRAFT, S.PREPARING): "`prepare_delivery` (prepare_deliveries); the recurring job for "
    "an occurrence",
    (S.PREPARING, S.READY): "preparation ends without a blocking error",
    (S.PREPARING, S.DRAFT): "preparation finds a blocking error, or `stop_preparation`",
    (S.READY, S.PREPARING): "`prepare_delivery` again",
    (S.READY, S.PENDING_APPROVAL): "preparation ends while approval is required "
    "(`approval_required`)",
    (S.READY, S.PENDING_CONFIRMATION): "the recurring job, for an occurrence with "
    "`confirm_before_send`",
    (S.READY, S.SCHEDULED): "`confirm_send` with a future send date (start_deliveries)",
    (S.READY, S.SENDING): "`confirm_send` without a future send date (start_deliveries); "
    "the recurring job without confirmation",
    (S.READY, S.DRAFT): "`edit_delivery` of content, target or schedule",
    (S.PENDING_APPROVAL, S.APPROVED): "`approve_delivery` (approve_deliveries)",
    (S.PENDING_APPROVAL, S.DRAFT): "`approve_delivery(approve=False)`, or `edit_delivery`",
    (S.APPROVED, S.SCHEDULED): "`confirm_send` with a future send date (start_deliveries)",
    (S.APPROVED, S.SENDING): "`confirm_send` without a future send date (start_deliveries)",
    (S.APPROVED, S.DRAFT): "`edit_delivery` (the approval is revoked)",
    (S.PENDING_CONFIRMATION, S.SCHEDULED): "allowed for an occurrence confirmed before its "
    "send date; no action makes it yet",
    (S.PENDING_CONFIRMATION, S.SENDING): "`confirm_occurrence` (start_deliveries)",
    (S.PENDING_CONFIRMATION, S.SKIPPED): "the recurring job, when the next occurrence comes "
    "due first",
    (S.PENDING_CONFIRMATION, S.DRAFT): "`edit_delivery`",
    (S.SCHEDULED, S.SENDING): "the scheduler's `scheduled` job, once the send date has come",
    (S.SCHEDULED, S.DRAFT): "`cancel_schedule` (start_deliveries), or `edit_delivery` "
    "(changing the schedule)",
    (S.SENDING, S.SENT): "the send engine, once no message waits for its first hand-off",
    (S.SENDING, S.PAUSED): "`pause_delivery` (start_deliveries), or the send engine after "
    "`send.max_consecutive_errors` relay-level faults in a row (unreachable, 421 at connect, "
    "sender or relaying refused)",
    (S.SENDING, S.STOPPED): "`stop_delivery` (start_deliveries)",
    (S.SENDING, S.ERROR): "the send engine: the relay refuses authentication, TLS cannot be "
    "negotiated, or the template fails for every recipient",
    (S.SENDING, S.FINISHED): "the scheduler's `validity` job: messages never handed over "
    "become not sent",
    (S.PAUSED, S.SENDING): "`resume_delivery` (start_deliveries), or the send engine when "
    "a probe of the relay passes (a pause by relay faults only)",
    (S.PAUSED, S.STOPPED): "`stop_delivery` (start_deliveries)",
    (S.PAUSED, S.FINISHED): "the scheduler's `validity` job: the queued messages become not sent",
    (S.SENT, S.FINISHED): "the scheduler's `validity` job: retries not yet successful fail",
    (S.STOPPED, S.FINISHED): "the scheduler's `validity` job",
}

_HEADER = """# The delivery lifecycle

Generated from `src/mailcast/domain.py` by `python -m mailcast.docs_lifecycle`; do not edit
by hand (a test compares this file with what the code generates).

Any delivery, whatever its state, can be duplicated (`duplicate_delivery`, prepare_deliveries):
the copy is a new `draft` without the schedule, and can leave out the recipients the original
delivered to.
"""


def lifecycle_markdown() -> str:
    """The whole of docs/lifecycle.md."""
    return "\n".join([_HEADER, *_states_table(), "", *_transitions_table()]) + "\n"


def _states_table() -> list[str]:
    lines = [
        "## States",
        "",
        "| state | Stibee | colour | meaning |",
        "|---|---|---|---|",
    ]
    for state in DeliveryState:
        stibee, colour = STIBEE_LABELS[state]
        lines.append(f"| `{state.value}` | {stibee or '—'} | {colour} | {MEANINGS[state]} |")
    sending_word = STIBEE_LABELS[S.SENDING][0]
    lines.append(
        f"| `{RETRY_LABEL}` (shown) | {sending_word} | {RETRY_COLOUR} | `sending` or `sent` "
        "with nothing left to send but retries; not a stored state |"
    )
    return lines


def _transitions_table() -> list[str]:
    lines = [
        "## Transitions",
        "",
        "Every allowed move; any other is refused.",
        "",
        "| from | to | made by |",
        "|---|---|---|",
    ]
    for current in DeliveryState:
        for target in sorted(TRANSITIONS[current], key=list(DeliveryState).index):
            lines.append(f"| `{current.value}` | `{target.value}` | {CAUSES[current, target]} |")
    return lines


if __name__ == "__main__":
    print(lifecycle_markdown(), end="")
