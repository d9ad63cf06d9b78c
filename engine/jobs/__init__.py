"""Background jobs: large plans and scenario runs, on RQ over Redis or in a local
process pool (the embedded default). engine/jobs/base.py is the one interface."""
