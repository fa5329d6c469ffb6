"""Downsampling a curve for a chart without hiding its extremes (the HTML report, the
notebook display and the interactive report charts share it)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["MAX_CHART_POINTS", "downsample_minmax"]

IntArray = NDArray[np.intp]

MAX_CHART_POINTS = 2_000  # ~2x the plot's pixel width: more points add bytes, not detail


def downsample_minmax(values: ArrayLike, max_points: int = MAX_CHART_POINTS) -> IntArray:
    """Sorted indices of at most ``max_points`` points that keep every bucket's extremes.

    A plain stride would skip the one bar where equity bottomed out and hide the worst
    drawdown; keeping each bucket's argmin and argmax keeps the chart's shape honest.
    The first and last points are always kept. ``values`` should be finite.
    """
    y = np.asarray(values, dtype=np.float64).ravel()
    n = int(y.size)
    if n <= max(max_points, 2):
        return np.arange(n, dtype=np.intp)
    buckets = max(1, (max_points - 2) // 2)
    size = -(-n // buckets)  # ceil division
    # Padding with the last value never creates a new extreme ahead of a real one
    # (argmin/argmax return the first occurrence); any padded index is clipped below.
    grid = np.pad(y, (0, buckets * size - n), mode="edge").reshape(buckets, size)
    base = np.arange(buckets, dtype=np.intp) * size
    picks = np.concatenate(
        ([0, n - 1], base + grid.argmin(axis=1), base + grid.argmax(axis=1))
    ).astype(np.intp)
    return np.unique(np.minimum(picks, n - 1))
