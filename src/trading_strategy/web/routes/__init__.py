"""HTTP routes, thin over ``web.services``."""
