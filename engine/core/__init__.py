"""The domain core: the snapshot and plan models, their file formats, the array index
over a snapshot, rule scopes, typed errors and the one `Settings`. Everything above
(rules, planning, services, the API) builds on it; it imports nothing above it."""
