"""Process-level set-up, done once when a process starts (serve, worker, CLI), never
inside a planning function: allocator settings and the like."""
