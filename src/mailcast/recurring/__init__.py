"""Recurring deliveries: recurrences in a time zone, the service, and the scheduler job."""
