"""Tenancy and access: keys, roles, the keys CLI and the API key dependency."""
