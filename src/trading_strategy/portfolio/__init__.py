"""Positions, cash and trades, derived from fills only."""
