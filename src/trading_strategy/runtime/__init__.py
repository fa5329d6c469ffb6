"""Runtime: supervisor, message bus and the composition root of each mode."""
