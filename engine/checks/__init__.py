"""The two-way stock check: listed quantities vs the latest published plan vs the
stock that exists, and the guard that peak mode puts around every publish."""
