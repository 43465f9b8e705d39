"""Statistics: the live counters, the Deployment block and recounts from the sending log."""
