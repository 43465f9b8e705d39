"""Providers' webhooks: check who sent a request, then turn its payload into observations."""
