"""The built-in sandbox MTA: accepts mail on loopback for `mailcast demo`, `sandbox` and tests."""
