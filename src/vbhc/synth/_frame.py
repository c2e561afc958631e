"""Small columnar helpers: a table as a dict of equal-length NumPy arrays, string
vocabularies held as integer codes, and vectorised random draws used throughout."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import special


class Frame(dict):
    """A table as a dict of equal-length NumPy arrays (column name -> array)."""

    @property
    def n(self) -> int:
        return len(next(iter(self.values()))) if self else 0

    def take(self, index: np.ndarray) -> Frame:
        return Frame({k: v[index] for k, v in self.items()})

    @staticmethod
    def concat(frames: Sequence[Frame]) -> Frame:
        frames = [f for f in frames if f]
        if not frames:
            return Frame()
        names = list(frames[0])
        for f in frames[1:]:
            if list(f) != names:
                raise ValueError(f"Frame.concat: columns differ {names} vs {list(f)}")
        return Frame({k: np.concatenate([f[k] for f in frames]) for k in names})


class Vocab:
    """A fixed list of strings addressed by integer codes (-1 = missing)."""

    def __init__(self, values: Iterable[str]):
        self.values: list[str] = list(dict.fromkeys(values))
        self._index = {v: i for i, v in enumerate(self.values)}

    def __len__(self) -> int:
        return len(self.values)

    def code(self, value: str) -> int:
        return self._index[value]

    def codes(self, values: Iterable[str]) -> np.ndarray:
        return np.array([self._index[v] for v in values], dtype=np.int32)

    def add(self, value: str) -> int:
        if value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value)
        return self._index[value]


def choice(rng: np.random.Generator, n: int, probabilities: Sequence[float]) -> np.ndarray:
    """n draws of category indices with the given probabilities (normalised)."""
    p = np.asarray(probabilities, dtype=float)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(n), side="right").astype(np.int32)


def choice_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row of an (n, k) probability matrix (rows normalised)."""
    p = np.asarray(probabilities, dtype=float)
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(p))[:, None]
    return np.minimum((u > cdf).sum(axis=1), p.shape[1] - 1).astype(np.int32)


def logistic(x: np.ndarray) -> np.ndarray:
    return special.expit(x)


def logit(p: np.ndarray | float) -> np.ndarray:
    return special.logit(p)


def repeat_index(counts: np.ndarray) -> np.ndarray:
    """Row index repeated counts times: [0, 0, 1, 2, 2, 2] for counts [2, 1, 3]."""
    return np.repeat(np.arange(len(counts)), counts)



def uniform_int(rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int, n: int | None = None) -> np.ndarray:
    """Integers uniform on [low, high] (inclusive), elementwise."""
    low = np.asarray(low, dtype=np.int64)
    high = np.asarray(high, dtype=np.int64)
    size = n if n is not None else np.broadcast(low, high).shape
    return low + np.floor(rng.random(size) * (high - low + 1)).astype(np.int64)


def truncated_exponential_int(rng: np.random.Generator, mean: float, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Integers low + floor(E), E ~ Exponential(mean) truncated so that the result is <= high."""
    low = np.asarray(low, dtype=np.int64)
    span = np.maximum(np.asarray(high, dtype=np.int64) - low + 1, 1)
    cap = 1.0 - np.exp(-span / mean)
    e = -mean * np.log1p(-rng.random(len(low)) * cap)
    return low + np.minimum(np.floor(e).astype(np.int64), span - 1)
