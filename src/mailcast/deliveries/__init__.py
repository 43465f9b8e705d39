"""The delivery lifecycle as service functions shared by the CLI and the HTTP API."""
