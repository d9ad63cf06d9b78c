"""Solver backends behind one interface; see solvers.base."""
