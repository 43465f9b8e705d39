"""Users, their roles, passwords and API tokens, and the role checks of every entry point."""
