"""Recipients of the status part, completed by what the notice says about each of them."""

from __future__ import annotations

from mailcast.feedback import formats
from mailcast.feedback.model import Finding


def complete(
    from_status: list[Finding], readings: list[list[Finding]], preamble: str
) -> list[Finding]:
    """Complete each status recipient with the notice's block about the same address.

    `readings` are the notice's blocks as read by its family, then by the generic reader;
    the first that has a block for the recipient completes it.
    """
    indexes = [_by_address(blocks) for blocks in readings]
    for recipient in from_status:
        block = next(
            (
                b
                for blocks, index in zip(readings, indexes, strict=True)
                if (b := _block_for(recipient, blocks, index, len(from_status)))
            ),
            None,
        )
        if block is None:
            recipient.context = preamble[-formats.MAX_CONTEXT :]
            continue
        if recipient.address.startswith("@") and "@" in block.address[1:]:
            # "Final-Recipient: rfc822; @host" lost the local part the notice still shows.
            recipient.address = block.address
        recipient.diagnostic = recipient.diagnostic or block.diagnostic
        recipient.command = recipient.command or block.command
        recipient.hint = recipient.hint or block.hint
        recipient.stated = recipient.stated or block.stated
        recipient.reply_code = recipient.reply_code or block.reply_code
        if _vague(recipient.status) and block.status and not _vague(block.status):
            recipient.status = block.status
        recipient.context = f"{block.diagnostic}\n{block.context}"
    return from_status


def covers(from_status: list[Finding], blocks: list[Finding]) -> bool:
    """Whether these blocks complete every status recipient: no other reading is needed."""
    index = _by_address(blocks)
    return all(_block_for(r, blocks, index, len(from_status)) for r in from_status)


def _by_address(blocks: list[Finding]) -> dict[str, Finding]:
    index: dict[str, Finding] = {}
    for block in blocks:
        index.setdefault(block.address.lower(), block)
    return index


def _block_for(
    recipient: Finding, blocks: list[Finding], index: dict[str, Finding], recipients: int
) -> Finding | None:
    block = index.get(recipient.address.lower()) or index.get(recipient.original_recipient.lower())
    if block is not None:
        return block
    # One recipient and one block: the block is about it, whatever address it shows.
    return blocks[0] if recipients == 1 and len(blocks) == 1 else None


def _vague(status: str) -> bool:
    return not status or status.endswith(".0.0")
