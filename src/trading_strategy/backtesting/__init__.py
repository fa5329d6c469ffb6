"""Backtesting: the event loop on a simulated clock, fill and cost models, metrics, reports."""
