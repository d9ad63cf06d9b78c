"""Shelf ranking and product selection for one shop: which products take the top slots
and which to list next, each decision with its reason (rank.py, selection.py)."""
