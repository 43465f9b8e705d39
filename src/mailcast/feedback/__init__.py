"""Bounce, complaint and auto-reply parsing: raw feedback mail into classified recipient results."""
