"""The built-in sandbox MTA: accepts mail on loopback, plays outcomes back as DSNs (demo, tests)."""
