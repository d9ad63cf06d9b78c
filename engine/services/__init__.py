"""Domain operations per area, as the API and the job workers call them. Each takes a
store, the caller's brand scope and settings; none checks permissions (the API declares
them per route) and none builds a URL."""
