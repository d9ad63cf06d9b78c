"""Background jobs: large plans and scenario runs, on RQ over Redis or in a local
process pool (the embedded default). engine/jobs/base.py is the one interface,
engine/jobs/kinds.py what a kind of job is (each area defines its own)."""
