"""Planning: a compiled problem solved by the fitting backends, post-processed, and
assembled into a plan with its reasons and per-SKU explanations."""
