"""HTTP service (FastAPI). Routes stay thin; all logic lives in engine/."""
