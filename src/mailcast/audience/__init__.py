"""Audience: profiles, lists, CSV import and the target filter language."""
