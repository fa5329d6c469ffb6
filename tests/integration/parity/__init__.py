"""Backtest-vs-paper parity: a generated matrix of settings, each run through the backtester
and through a replayed paper session, compared to the smallest unit (issue 10, part 4).

``harness`` runs one combination both ways and diffs the traces; ``combos`` turns a row of
the matrix into one portfolio mapping (the single source of both runs); ``allpairs`` covers
every pair of setting values; ``recording`` logs what the strategy sees; ``strategies`` holds
two test strategies (limit orders that get cancelled, sizes the risk limits deny or resize).
Run ``python -m tests.integration.parity.summary`` from the repository root for a grouped
list of the combinations that differ.
"""
