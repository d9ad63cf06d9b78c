"""`omnistock bench`: omnistock's planner against general solvers on seeded instances."""
