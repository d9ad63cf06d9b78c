"""Solver backends behind one interface (solvers.base), chosen by the registry
(solvers.registry); the bottom layer: nothing here imports the engine."""
