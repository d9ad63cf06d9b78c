"""omnistock engine: domain model, planner, explanations, CLI."""
