"""Routers per resource, all under /api/v1; `common` holds what they share."""
