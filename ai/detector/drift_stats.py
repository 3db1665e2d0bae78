"""The statistics behind drift monitoring: pure functions over a reference sample and a
window sample, each giving one :class:`Comparison` (see ``ai.detector.drift`` for the
features, the thresholds and why both a test and the PSI must agree).

Degenerate inputs are answered, never raised:

* KS on identical constant samples gives statistic 0 and p = 1 (no drift); on two
  different constants statistic 1 and a tiny p. Ties (integer features) make the
  p-value conservative, which errs towards "no drift".
* PSI bins come from the reference's deciles; duplicate edges (a feature that takes a
  few values, or one) collapse into one edge, so a bin is never empty in the reference.
  When the lowest decile is the reference's minimum (a point mass at the bottom), an
  extra bin below the minimum is added: without it a window that falls below a constant
  reference would land in the reference's own bin and score PSI 0.
* Empty bins are floored at ``PSI_EPS`` so the logarithm stays finite; a bin empty on
  both sides adds exactly 0.
* The chi-square test merges classes seen fewer than ``RARE_CLASS_COUNT`` times (both
  sides together) into one "other" category, where its approximation holds; with a
  single category left there is nothing to test: statistic 0, p = 1.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

PSI_BINS = 10  # quantile bins of the reference
PSI_EPS = 1e-4  # floor of a bin's share: an empty bin adds a bounded, not infinite, term
RARE_CLASS_COUNT = 5  # classes seen less often are merged before the chi-square test
OTHER_CLASS = "(other)"
EXACT_KS_PRODUCT = 10_000  # exact KS p-values up to this many (reference x window) pairs


@dataclass(frozen=True)
class Comparison:
    """One feature's verdict. ``drifted`` is None (with ``reason``) when it was not tested."""

    test: str  # "ks" or "chi2"
    statistic: float | None
    p_value: float | None
    psi: float | None
    drifted: bool | None
    reason: str | None = None
    reference_values: int = 0
    window_values: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "test": self.test,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "psi": _finite(self.psi),
            "drifted": self.drifted,
            "reference_values": self.reference_values,
            "window_values": self.window_values,
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def quantile_edges(reference: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges: the reference's quantiles at 1/bins .. (bins-1)/bins, duplicates
    dropped, plus an edge just below the minimum when the lowest quantile is the minimum.
    Bins are right-closed: (-inf, e0], (e0, e1], ..., (ek, inf)."""
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    lowest = float(np.min(reference))
    if edges[0] <= lowest:
        edges = np.concatenate(([np.nextafter(lowest, -np.inf)], edges))
    return edges


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = PSI_EPS) -> float:
    """Population Stability Index of two vectors of bin shares: sum (a - e) * ln(a / e)."""
    e = np.maximum(expected, eps)
    a = np.maximum(actual, eps)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_psi(reference: np.ndarray, window: np.ndarray, bins: int = PSI_BINS, eps: float = PSI_EPS) -> float:
    """PSI over quantile bins of the reference."""
    edges = quantile_edges(reference, bins)
    count = len(edges) + 1
    ref_share = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=count) / len(reference)
    win_share = np.bincount(np.searchsorted(edges, window, side="left"), minlength=count) / len(window)
    return psi(ref_share, win_share, eps)


def ks_test(reference: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov: (statistic, p-value). The exact p-value only for
    small samples: scipy's "auto" tries it up to 10,000 a side, where it is slow and, on
    large shifts, gives up with a warning; the asymptotic one is accurate there."""
    exact = len(reference) * len(window) <= EXACT_KS_PRODUCT
    result = stats.ks_2samp(reference, window, method="exact" if exact else "asymp")
    return float(result.statistic), float(result.pvalue)


def category_table(reference: Iterable[str], window: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """Categories (rare ones merged into OTHER_CLASS) and the 2 x k table of counts."""
    ref_counts, win_counts = Counter(reference), Counter(window)
    totals = ref_counts + win_counts
    common = sorted(name for name, total in totals.items() if total >= RARE_CLASS_COUNT)
    rare = [name for name in totals if name not in common]
    categories = common + ([OTHER_CLASS] if rare else [])
    table = np.zeros((2, len(categories)), dtype=np.int64)
    for row, counts in enumerate((ref_counts, win_counts)):
        for column, name in enumerate(common):
            table[row, column] = counts[name]
        if rare:
            table[row, -1] = sum(counts[name] for name in rare)
    return categories, table


def chi2_test(table: np.ndarray) -> tuple[float, float]:
    """Chi-square test of independence on a 2 x k table: (statistic, p-value)."""
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def compare_numeric(
    reference: Sequence[float] | np.ndarray,
    window: Sequence[float] | np.ndarray,
    *,
    psi_threshold: float,
    p_value: float,
    min_values: int,
) -> Comparison:
    """KS + PSI; drifted when PSI >= psi_threshold and the KS p-value < p_value."""
    ref = _finite_values(reference)
    win = _finite_values(window)
    if len(ref) < min_values or len(win) < min_values:
        reason = f"too few values to test: reference {len(ref)}, window {len(win)}, each needs {min_values}"
        return Comparison("ks", None, None, None, None, reason, len(ref), len(win))
    statistic, p = ks_test(ref, win)
    index = numeric_psi(ref, win)
    return Comparison("ks", statistic, p, index, index >= psi_threshold and p < p_value, None, len(ref), len(win))


def compare_categories(
    reference: Sequence[str],
    window: Sequence[str],
    *,
    psi_threshold: float,
    p_value: float,
    min_values: int,
) -> Comparison:
    """Chi-square + PSI over categories; drifted when PSI >= psi_threshold and p < p_value."""
    if len(reference) < min_values or len(window) < min_values:
        reason = f"too few values to test: reference {len(reference)}, window {len(window)}, each needs {min_values}"
        return Comparison("chi2", None, None, None, None, reason, len(reference), len(window))
    _, table = category_table(reference, window)
    statistic, p = chi2_test(table)
    shares = table / table.sum(axis=1, keepdims=True)
    index = psi(shares[0], shares[1])
    drifted = index >= psi_threshold and p < p_value
    return Comparison("chi2", statistic, p, index, drifted, None, len(reference), len(window))


def _finite_values(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
