"""The HTTP app: API routers, webhooks and public endpoints, over the same services as the CLI."""
