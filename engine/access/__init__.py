"""Tenancy and access: API keys (stored hashed), roles, and who may do what.

`keys` makes and checks keys, `roles` decides what a key's holder may do, and
`repository` stores the key records (in memory or in a JSON file).
"""
