"""Datasets: indexable (map-style) and iterable collections of samples, as in PyTorch.

A map-style :class:`Dataset` answers ``len(ds)`` and ``ds[i]``; an :class:`IterableDataset`
is a stream (``iter(ds)``). :class:`TensorDataset`, :class:`Subset`, :class:`ConcatDataset`
and :func:`random_split` build datasets from tensors and from other datasets.
"""
from __future__ import annotations

import bisect
import math
import numbers
import warnings
from typing import Generic, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

from ..tensor import Tensor
from ..ops.creation import Generator, default_generator, randperm

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "random_split"]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually ``__len__``.

    ``ds1 + ds2`` concatenates two datasets (a :class:`ConcatDataset`).
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError(
            f"{type(self).__name__} is a Dataset subclass without __getitem__; define "
            "__getitem__(self, index) to return one sample")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream of samples: subclasses define ``__iter__``.

    A :class:`~chainrule.data.DataLoader` reads it in order; samplers and ``shuffle`` do
    not apply (there are no indices).
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(
            f"{type(self).__name__} is an IterableDataset subclass without __iter__")

    def __add__(self, other: "Dataset") -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are slices of the given tensors along their first dimension.

    ``TensorDataset(x, y)[i] == (x[i], y[i])``; all tensors must have the same first size.
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, not a "
                                "Tensor; convert it with chainrule.tensor(...) or as_tensor(...)")
            if t.dim() == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d tensor; samples are "
                                 "taken along the first dimension, so each tensor needs one")
        n = tensors[0].shape[0]
        sizes = [t.shape[0] for t in tensors]
        if any(s != n for s in sizes):
            raise ValueError("Size mismatch between tensors: TensorDataset needs the same size "
                             f"in the first dimension, got {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices`` (``Subset(ds, idx)[i] == ds[idx[i]]``)."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: List[int]) -> list:
        """A batch of samples (lets the DataLoader use a dataset's own batched fetch)."""
        inner = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """Several map-style datasets one after the other."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; use "
                                "ChainDataset to chain streams")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Sequence[Dataset]) -> List[int]:
        """Running totals of the datasets' lengths."""
        out, s = [], 0
        for d in sequence:
            s += len(d)
            out.append(s)
        return out

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset index {idx} is out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        inner = idx if which == 0 else idx - self.cumulative_sizes[which - 1]
        return self.datasets[which][inner]


class ChainDataset(IterableDataset):
    """Several iterable datasets read one after the other."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def random_split(dataset: Dataset[T_co], lengths: Sequence[Union[int, float]],
                 generator: Optional[Generator] = None) -> List[Subset[T_co]]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    ``lengths`` are either counts summing to ``len(dataset)`` or fractions summing to 1;
    for fractions, each part gets ``floor(frac * len)`` and the remainder is handed out
    one by one, round-robin, from the first part (as PyTorch does). The order comes from
    ``generator`` (default: chainrule's default generator, so ``chainrule.manual_seed``
    makes it reproducible).
    """
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        remainder = n - sum(counts)
        for i in range(remainder):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.")
        lengths = counts
    for ln in lengths:
        if not isinstance(ln, numbers.Integral) or isinstance(ln, bool) or ln < 0:
            raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                             f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset! "
                         f"(lengths {lengths} sum to {sum(lengths)}, the dataset has {n} samples)")
    perm = randperm(n, generator=generator if generator is not None else default_generator).tolist()
    out, offset = [], 0
    for ln in lengths:
        out.append(Subset(dataset, perm[offset:offset + ln]))
        offset += ln
    return out
