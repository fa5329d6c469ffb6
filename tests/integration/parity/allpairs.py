"""All-pairs (pairwise) rows: every value of every dimension meets every value of every other
dimension in at least one row, with far fewer rows than the full product.

Greedy and seeded (the classic AETG idea): each new row starts from a pair nobody covers yet
and fills the other dimensions, one at a time in random order, with the value that covers
the most uncovered pairs; the best of a few such candidates is kept.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

Pair = tuple[int, str, int, str]


def _pairs(row: Sequence[str]) -> set[Pair]:
    n = len(row)
    return {(a, row[a], b, row[b]) for a in range(n) for b in range(a + 1, n)}


def all_pairs(dimensions: Sequence[Sequence[str]], *, seed: int,
              candidates: int = 20) -> list[tuple[str, ...]]:
    """Rows (one value per dimension) covering every pair of values; the same for a seed."""
    rng = random.Random(seed)
    n = len(dimensions)
    todo = {(a, x, b, y) for a in range(n) for b in range(a + 1, n)
            for x in dimensions[a] for y in dimensions[b]}
    rows: list[tuple[str, ...]] = []
    while todo:
        best: tuple[str, ...] = ()
        best_gain = -1
        for _ in range(candidates):
            a, x, b, y = rng.choice(sorted(todo))
            row = [rng.choice(list(d)) for d in dimensions]
            row[a], row[b] = x, y
            for d in rng.sample(range(n), n):
                if d not in (a, b):
                    row[d] = _best_value(row, d, dimensions[d], todo, rng)
            gain = len(_pairs(row) & todo)
            if gain > best_gain:
                best, best_gain = tuple(row), gain
        rows.append(best)
        todo -= _pairs(best)
    return rows


def _best_value(row: list[str], d: int, values: Sequence[str], todo: set[Pair],
                rng: random.Random) -> str:
    """The value of dimension ``d`` that covers the most uncovered pairs (ties at random)."""
    def score(value: str) -> tuple[int, float]:
        return len(_pairs([*row[:d], value, *row[d + 1:]]) & todo), rng.random()

    return max(values, key=score)


def uncovered(dimensions: Sequence[Sequence[str]], rows: Sequence[Sequence[str]]) -> set[Pair]:
    """The pairs of values no row covers (empty for a complete all-pairs set)."""
    n = len(dimensions)
    every = {(a, x, b, y) for a in range(n) for b in range(a + 1, n)
             for x in dimensions[a] for y in dimensions[b]}
    for row in rows:
        every -= _pairs(row)
    return every
