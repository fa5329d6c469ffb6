"""Strategies: the contract, the context, indicators and the built-in strategies."""
