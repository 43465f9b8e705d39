"""mailcast: email campaign delivery, from preparation to each message's real outcome."""
