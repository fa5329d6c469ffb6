"""Risk: pure sizing, limits and stop rules, and the pre-trade gate with its trading state."""
