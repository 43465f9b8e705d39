"""The send engine: claim batches, compose, throttle, relay over SMTP, record outcomes."""
