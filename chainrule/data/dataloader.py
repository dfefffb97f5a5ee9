"""DataLoader: batches of samples from a dataset, with PyTorch's arguments and rules.

Loading happens in the calling process (``num_workers=0``): NumPy already does the heavy
work of each batch in C, and chainrule has no worker processes.
"""
from __future__ import annotations

import collections.abc
import copy
import math
import re
from typing import Any, Callable, Generic, Iterable, Iterator, List, Optional, Sequence, TypeVar

import numpy as np

from ..tensor import Tensor
from ..ops.creation import Generator, as_tensor, tensor as _tensor
from ..ops.shape import stack
from .. import dtypes as _dt
from .dataset import Dataset, IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert"]

T_co = TypeVar("T_co", covariant=True)

_NP_STR_OBJ = re.compile(r"[SaUO]")
_COLLATE_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                "lists; found {}")


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and NumPy scalars (also inside dicts, lists, tuples) into tensors.

    The ``collate_fn`` a DataLoader uses when automatic batching is off
    (``batch_size=None``); tensors and other values are returned unchanged.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        if _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, np.generic):
        if _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        try:
            return type(data)(converted)  # type: ignore[call-arg]
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        items = [default_convert(d) for d in data]
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, v in enumerate(items):
                clone[i] = v
            return clone
        try:
            return type(data)(items)  # type: ignore[call-arg]
        except TypeError:
            return items
    return data


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, following PyTorch's rules.

    - tensors are stacked along a new first dimension;
    - NumPy arrays become tensors and are stacked; NumPy scalars become a 1-D tensor;
    - Python floats give a float64 tensor, ints an int64 tensor, bools a bool tensor;
    - strings and bytes are returned as they are (the batch of them);
    - dicts give a dict of batches (per key), named tuples a named tuple of batches,
      tuples and lists a list of batches (position by position; all samples must have
      the same length).

    Anything else raises ``TypeError``.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        if elem.shape == ():
            return as_tensor(np.array(batch))
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, np.generic):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return _tensor(batch, dtype=_dt.float64)
    if isinstance(elem, int):  # bools included: tensor() gives them dtype bool
        return _tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:
            return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = default_collate(samples)
                return clone
            return type(elem)([default_collate(samples) for samples in transposed])  # type: ignore[call-arg]
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(_COLLATE_ERR.format(type(elem)))


class _InfiniteConstantSampler(Sampler[None]):
    """The 'sampler' of an IterableDataset: no indices, just 'next one, please'."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


_LOCKED_ATTRS = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                 "persistent_workers")


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches.

    Args follow PyTorch: ``batch_size`` (``None`` turns automatic batching off),
    ``shuffle`` (a new random order each epoch, drawn from ``generator`` or, without
    one, from chainrule's default generator, so ``chainrule.manual_seed`` makes it
    reproducible), ``sampler`` / ``batch_sampler`` (custom index orders; mutually
    exclusive with ``shuffle``, and ``batch_sampler`` with ``batch_size``/``drop_last``),
    ``collate_fn`` (default :func:`default_collate`), ``drop_last`` (drop the last,
    incomplete batch). ``num_workers`` must be 0: loading runs in this process.
    ``pin_memory`` and ``timeout`` are accepted and ignored (there is no GPU and no worker).
    """

    def __init__(self, dataset: Dataset[T_co], batch_size: Optional[int] = 1,
                 shuffle: Optional[bool] = None, sampler: Optional[Iterable] = None,
                 batch_sampler: Optional[Iterable[List]] = None, num_workers: int = 0,
                 collate_fn: Optional[Callable[[List], Any]] = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable[[int], None]] = None,
                 multiprocessing_context: Any = None, generator: Optional[Generator] = None,
                 *, prefetch_factor: Optional[int] = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if num_workers > 0:
            raise ValueError(
                f"DataLoader(num_workers={num_workers}): chainrule loads data in the main process "
                "only; pass num_workers=0 (NumPy does each batch's work in C, so worker "
                "processes would mostly add copying).")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. "
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if persistent_workers:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None:
            raise ValueError("multiprocessing_context can only be used with multi-process "
                             "loading (num_workers > 0), but got num_workers=0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)  # type: ignore[arg-type]
            else:
                sampler = SequentialSampler(dataset)  # type: ignore[arg-type]
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.__initialized = True

    def __setattr__(self, attr: str, val: Any) -> None:
        if self.__dict__.get("_DataLoader__initialized", False) and attr in _LOCKED_ATTRS:
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Iterable:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> "_SingleProcessIter":
        return _SingleProcessIter(self)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last \
                    else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)  # type: ignore[arg-type]


class _SingleProcessIter:
    """One pass over a DataLoader (``len()`` gives the number of batches)."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._indices = iter(loader._index_sampler)
        self._auto = loader._auto_collation
        self._collate = loader.collate_fn
        ds = loader.dataset
        self._dataset = ds
        self._data_iter = iter(ds) if loader._iterable else None  # type: ignore[call-overload]
        self._drop_last = loader.drop_last
        # Fast path: a TensorDataset batch under default_collate is exactly each tensor
        # indexed by the batch's indices (the same values, dtypes and shapes as stacking
        # the samples one by one), done in one NumPy gather instead of a Python loop.
        self._tensor_fast = (self._auto and self._collate is default_collate
                             and type(ds).__getitem__ is TensorDataset.__getitem__
                             and isinstance(ds, TensorDataset))
        self._getitems = getattr(ds, "__getitems__", None) if not loader._iterable else None
        self._exhausted = False

    def __iter__(self) -> "_SingleProcessIter":
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self) -> Any:
        if self._exhausted:
            raise StopIteration
        try:
            index = next(self._indices)
        except StopIteration:
            self._exhausted = True
            raise
        if self._data_iter is not None:
            return self._next_iterable(index)
        if not self._auto:
            return self._collate(self._dataset[index])
        if self._tensor_fast and len(index) > 0:
            idx = np.asarray(index, dtype=np.int64)
            return [t[idx] for t in self._dataset.tensors]
        if self._getitems is not None:
            data = self._getitems(index)
        else:
            data = [self._dataset[i] for i in index]
        return self._collate(data)

    def _next_iterable(self, index: Any) -> Any:
        it = self._data_iter
        if not self._auto:
            try:
                return self._collate(next(it))
            except StopIteration:
                self._exhausted = True
                raise
        data = []
        for _ in index:
            try:
                data.append(next(it))
            except StopIteration:
                self._exhausted = True
                break
        if not data or (self._exhausted and self._drop_last):
            self._exhausted = True
            raise StopIteration
        return self._collate(data)
