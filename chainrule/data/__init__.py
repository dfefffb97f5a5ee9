"""Datasets, samplers and the DataLoader, as in ``torch.utils.data``.

``chainrule.utils.data`` is the same module under PyTorch's path, so
``from chainrule.utils.data import DataLoader, TensorDataset`` works.
"""
from .dataset import (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset,  # noqa: F401
                      ChainDataset, random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,  # noqa: F401
                      WeightedRandomSampler, BatchSampler)
from .dataloader import DataLoader, default_collate, default_convert  # noqa: F401

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "random_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DataLoader",
           "default_collate", "default_convert"]
