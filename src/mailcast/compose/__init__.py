"""Composition: sandboxed templates, the MIME skeleton and per-message envelope fields."""
