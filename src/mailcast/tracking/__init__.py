"""Opens, clicks, mirror pages and unsubscribes: signed links and what a hit on them does."""
