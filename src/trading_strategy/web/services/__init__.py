"""What the routes call: plain functions over the store and the sessions' files."""
