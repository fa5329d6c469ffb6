"""Venues: where orders go. Simulated (backtest), paper (live stream) and real exchanges."""
