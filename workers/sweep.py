"""workers.sweep (cpu queue, periodic)."""
