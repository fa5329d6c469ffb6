"""Orders: state machine, manager, journal and venues."""
