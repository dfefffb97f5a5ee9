"""chainrule.data: datasets, samplers, collation and the DataLoader, checked against
PyTorch's torch.utils.data (when installed) and against properties written out by hand.

Random orders come from chainrule's generator and need not equal PyTorch's numbers, so
for them the tests check the properties (a permutation per epoch, reproducible per seed,
different between epochs) rather than values.
"""
from __future__ import annotations

import collections
import contextlib
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                            IterableDataset, RandomSampler, Sampler, SequentialSampler, Subset,
                            SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                            default_collate, default_convert, random_split)


def _np(x):
    if isinstance(x, cr.Tensor):
        return x.numpy()
    return x.detach().numpy()


def assert_same(c, t):
    """chainrule's result ``c`` has the structure, types, dtypes and values of torch's ``t``."""
    torch = pytest.importorskip("torch")
    if isinstance(t, torch.Tensor):
        assert isinstance(c, cr.Tensor), f"expected a tensor, got {type(c)}"
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_array_equal(_np(c), _np(t))
    elif isinstance(t, dict):
        assert type(c) is type(t) and list(c) == list(t)
        for k in t:
            assert_same(c[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(c) is type(t), f"{type(c)} != {type(t)}"
        assert len(c) == len(t)
        for a, b in zip(c, t):
            assert_same(a, b)
    else:
        assert type(c) is type(t) and c == t


def _data(n=10, d=3):
    x = np.arange(n * d, dtype=np.float32).reshape(n, d) / 7
    y = (np.arange(n) * 3) % 5
    return x, y


# ----------------------------------------------------------------------------- datasets

def test_tensor_dataset_items_and_len():
    x, y = _data()
    ds = TensorDataset(cr.tensor(x), cr.tensor(y))
    assert len(ds) == 10
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), x[4])
    assert yi.item() == y[4]
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(cr.zeros(3, 2), cr.zeros(4))
    with pytest.raises(TypeError, match="not a Tensor"):
        TensorDataset(np.zeros(3))


def test_subset_and_concat():
    base = list(range(100, 110))
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [107, 102, 105]
    cat = ConcatDataset([list("abc"), list("de"), [], list("f")])
    assert len(cat) == 6
    assert [cat[i] for i in range(6)] == list("abcdef")
    assert cat[-1] == "f" and cat[-6] == "a"
    with pytest.raises(ValueError):
        cat[-7]
    with pytest.raises(IndexError):
        cat[6]

    class L(Dataset):
        def __init__(self, items):
            self.items = items

        def __getitem__(self, i):
            return self.items[i]

        def __len__(self):
            return len(self.items)

    both = L([1, 2]) + L([3])
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(3)] == [1, 2, 3]


def test_concat_rejects_iterable_and_chain_dataset():
    class Stream(IterableDataset):
        def __init__(self, items):
            self.items = items

        def __iter__(self):
            return iter(self.items)

    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([Stream([1])])
    assert list(ChainDataset([Stream([1, 2]), Stream([3])])) == [1, 2, 3]
    assert list(Stream([1]) + Stream([2, 3])) == [1, 2, 3]


def test_dataset_without_getitem_says_what_to_do():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


# ----------------------------------------------------------------------------- random_split

@pytest.mark.parametrize("n,fracs", [(10, [0.7, 0.3]), (11, [0.5, 0.5]), (7, [1 / 3, 1 / 3, 1 / 3]),
                                     (5, [0.1, 0.9]), (3, [0.25, 0.25, 0.25, 0.25])])
def test_random_split_fraction_lengths_match_torch(n, fracs):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about empty splits too
        expected = [len(s) for s in torch.utils.data.random_split(range(n), fracs)]
    with pytest.warns(UserWarning, match="is 0") if 0 in expected else contextlib.nullcontext():
        parts = random_split(range(n), fracs, generator=cr.Generator().manual_seed(1))
    assert [len(p) for p in parts] == expected


def test_random_split_partitions_and_is_reproducible():
    parts = random_split(range(20), [5, 15], generator=cr.Generator().manual_seed(3))
    a, b = [list(p) for p in parts]
    assert sorted(a + b) == list(range(20))
    again = random_split(range(20), [5, 15], generator=cr.Generator().manual_seed(3))
    assert [list(p) for p in again] == [a, b]
    other = random_split(range(20), [5, 15], generator=cr.Generator().manual_seed(4))
    assert [list(p) for p in other] != [a, b]
    cr.manual_seed(9)
    g1 = [list(p) for p in random_split(range(20), [10, 10])]
    cr.manual_seed(9)
    assert [list(p) for p in random_split(range(20), [10, 10])] == g1
    assert a != list(range(5)) or b != list(range(5, 20))  # shuffled, not in order


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError):
        random_split(range(10), [11, -1])


# ----------------------------------------------------------------------------- samplers

def test_sequential_and_batch_sampler_match_torch():
    torch = pytest.importorskip("torch")
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)]:
        ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_batch_sampler_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler_permutations_and_seeds():
    g = cr.Generator().manual_seed(0)
    s = RandomSampler(range(50), generator=g)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(50)) and len(s) == 50
    assert e1 != e2  # a new order each pass
    assert list(RandomSampler(range(50), generator=cr.Generator().manual_seed(0))) == e1
    cr.manual_seed(5)
    d1 = list(RandomSampler(range(50)))
    cr.manual_seed(5)
    assert list(RandomSampler(range(50))) == d1


def test_random_sampler_num_samples_and_replacement():
    g = cr.Generator().manual_seed(1)
    out = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(out) == 10
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]  # whole permutations first
    assert len(set(out[8:])) == 2
    rep = list(RandomSampler(range(3), replacement=True, num_samples=300, generator=g))
    assert len(rep) == 300 and set(rep) == {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler([])
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)


def test_subset_random_and_weighted_samplers():
    idx = [10, 20, 30, 40]
    s = SubsetRandomSampler(idx, generator=cr.Generator().manual_seed(2))
    assert sorted(s) == idx and len(s) == 4
    w = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 400, generator=cr.Generator().manual_seed(2))
    out = list(w)
    assert len(out) == 400 and set(out) == {1, 3}
    assert 0.6 < out.count(3) / 400 < 0.9  # expected 0.75
    no_rep = list(WeightedRandomSampler([1, 1, 1], 3, replacement=False,
                                        generator=cr.Generator().manual_seed(0)))
    assert sorted(no_rep) == [0, 1, 2]


# ----------------------------------------------------------------------------- collation

def _samples_cases():
    P = collections.namedtuple("P", "a b")
    return [
        ("tensors", lambda m: [m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0])]),
        ("int tensors 0-d", lambda m: [m.tensor(1), m.tensor(2)]),
        ("numpy arrays", lambda m: [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)]),
        ("numpy f64", lambda m: [np.arange(3.0), np.arange(3.0)]),
        ("numpy scalars", lambda m: [np.float32(1.5), np.float32(2.5)]),
        ("numpy int32", lambda m: [np.int32(1), np.int32(7)]),
        ("numpy 0-d", lambda m: [np.array(1.5), np.array(2.0)]),
        ("floats", lambda m: [1.0, 2.5]),
        ("ints", lambda m: [1, 2, 3]),
        ("bools", lambda m: [True, False]),
        ("strings", lambda m: ["a", "bc"]),
        ("tuples", lambda m: [(m.tensor([1.0]), 1, "x"), (m.tensor([2.0]), 2, "y")]),
        ("lists", lambda m: [[1, 2.0], [3, 4.0]]),
        ("dicts", lambda m: [{"x": np.zeros(2), "y": 1}, {"x": np.ones(2), "y": 0}]),
        ("nested", lambda m: [{"a": (1, [2.0, m.tensor([3])])}, {"a": (4, [5.0, m.tensor([6])])}]),
        ("namedtuple", lambda m: [P(1, 2.0), P(3, 4.0)]),
        ("ordered dict", lambda m: [collections.OrderedDict(b=1, a=2), collections.OrderedDict(b=3, a=4)]),
    ]


@pytest.mark.parametrize("name,make", _samples_cases(), ids=[c[0] for c in _samples_cases()])
def test_default_collate_matches_torch(name, make):
    torch = pytest.importorskip("torch")
    ours = default_collate(make(cr))
    theirs = torch.utils.data.default_collate(make(torch))
    assert_same(ours, theirs)


@pytest.mark.parametrize("sample", [
    np.zeros((2, 3), np.float32), np.float64(2.0), (np.ones(2), 3, "s"), {"k": np.arange(3)},
    [np.int64(4), [np.zeros(1)]], "text",
])
def test_default_convert_matches_torch(sample):
    torch = pytest.importorskip("torch")
    assert_same(default_convert(sample), torch.utils.data.default_convert(sample))


def test_default_collate_errors_match_torch():
    torch = pytest.importorskip("torch")
    for bad, exc in [([None, None], TypeError), ([[1], [2, 3]], RuntimeError),
                     ([np.array(["a"]), np.array(["b"])], TypeError), ([object()], TypeError)]:
        with pytest.raises(exc):
            torch.utils.data.default_collate(bad)
        with pytest.raises(exc) as info:
            default_collate(bad)
        assert str(info.value).startswith(("default_collate", "each element"))


# ----------------------------------------------------------------------------- DataLoader

@pytest.mark.parametrize("n,bs,drop", [(10, 4, False), (10, 4, True), (8, 4, True), (8, 4, False),
                                       (3, 5, False), (3, 5, True), (7, 1, False)])
def test_dataloader_batches_match_torch(n, bs, drop):
    torch = pytest.importorskip("torch")
    x, y = _data(n)
    ours = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=bs, drop_last=drop)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x),
                                                                        torch.tensor(y)),
                                         batch_size=bs, drop_last=drop)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert_same(a, b)


def test_dataloader_on_python_samples_matches_torch():
    torch = pytest.importorskip("torch")

    class Pairs:
        def __getitem__(self, i):
            return {"img": np.full((2, 2), i, np.float32), "label": i % 3, "w": i / 2}

        def __len__(self):
            return 5

    for a, b in zip(DataLoader(Pairs(), batch_size=2), torch.utils.data.DataLoader(Pairs(), batch_size=2)):
        assert_same(a, b)


def test_tensor_dataset_fast_path_equals_sample_by_sample():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((13, 2, 3)).astype(np.float32)
    y = rng.integers(0, 9, 13)
    ds = TensorDataset(cr.tensor(x), cr.tensor(y))
    fast = list(DataLoader(ds, batch_size=5))
    slow = list(DataLoader(ds, batch_size=5, collate_fn=lambda b: default_collate(b)))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.dtype == sx.dtype == cr.float32 and fy.dtype == sy.dtype == cr.int64
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in fast]), x)


def test_dataloader_batch_size_none_converts_samples():
    loader = DataLoader([np.arange(3), np.arange(3) + 1], batch_size=None)
    out = list(loader)
    assert len(loader) == 2 and all(isinstance(o, cr.Tensor) and o.shape == (3,) for o in out)
    np.testing.assert_array_equal(out[1].numpy(), [1, 2, 3])


def _concat_labels(loader):
    return [int(v) for batch in loader for v in batch[1].tolist()]


def test_shuffle_with_generator_reproducible_and_new_each_epoch():
    x, y = _data(40)
    ds = TensorDataset(cr.tensor(x), cr.tensor(np.arange(40)))
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=cr.Generator().manual_seed(0))
    e1, e2 = _concat_labels(loader), _concat_labels(loader)
    assert sorted(e1) == sorted(e2) == list(range(40))
    assert e1 != list(range(40)) and e1 != e2
    again = DataLoader(ds, batch_size=8, shuffle=True, generator=cr.Generator().manual_seed(0))
    assert _concat_labels(again) == e1
    # the batch's rows stay together: x row i is still next to label i
    for bx, by in DataLoader(ds, batch_size=8, shuffle=True, generator=cr.Generator().manual_seed(1)):
        np.testing.assert_array_equal(bx.numpy(), x[by.numpy()])


def test_shuffle_with_manual_seed_reproducible():
    ds = TensorDataset(cr.arange(30), cr.arange(30))
    cr.manual_seed(123)
    a = [_concat_labels(DataLoader(ds, batch_size=4, shuffle=True)) for _ in range(2)]
    cr.manual_seed(123)
    b = [_concat_labels(DataLoader(ds, batch_size=4, shuffle=True)) for _ in range(2)]
    assert a == b and a[0] != a[1]


def test_own_generator_leaves_global_stream_alone():
    ds = TensorDataset(cr.arange(30), cr.arange(30))
    cr.manual_seed(7)
    expected = cr.rand(3).numpy().copy()
    cr.manual_seed(7)
    list(DataLoader(ds, batch_size=4, shuffle=True, generator=cr.Generator().manual_seed(0)))
    np.testing.assert_array_equal(cr.rand(3).numpy(), expected)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop=st.booleans(), shuffle=st.booleans())
def test_dataloader_batch_shapes_property(n, bs, drop, shuffle):
    ds = TensorDataset(cr.zeros(n, 2), cr.arange(n))
    loader = DataLoader(ds, batch_size=bs, shuffle=shuffle, drop_last=drop,
                        generator=cr.Generator().manual_seed(n))
    sizes = [len(b[1]) for b in loader]
    expected = [bs] * (n // bs) + ([n % bs] if n % bs and not drop else [])
    assert sizes == expected and len(loader) == len(expected)
    labels = _concat_labels(loader)
    assert len(set(labels)) == len(labels) and set(labels) <= set(range(n))
    if not shuffle:
        assert labels == list(range(len(labels)))


def test_custom_sampler_batch_sampler_and_collate_fn():
    ds = list(range(10))

    class Evens(Sampler):
        def __iter__(self):
            return iter(range(0, 10, 2))

        def __len__(self):
            return 5

    assert [b.tolist() for b in DataLoader(ds, batch_size=2, sampler=Evens())] == [[0, 2], [4, 6], [8]]
    loader = DataLoader(ds, batch_sampler=[[3, 1], [9]])
    assert [b.tolist() for b in loader] == [[3, 1], [9]]
    assert list(DataLoader(ds, batch_size=4, collate_fn=sum)) == [6, 22, 17]
    it = iter(DataLoader(ds, batch_size=3))
    assert len(it) == 4


def _stream_class(base):
    class Stream(base):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(np.arange(self.n, dtype=np.float32))

        def __len__(self):
            return self.n
    return Stream


_Stream = _stream_class(IterableDataset)


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 4, True)])
def test_iterable_dataset_matches_torch(n, bs, drop):
    torch = pytest.importorskip("torch")
    ours = DataLoader(_Stream(n), batch_size=bs, drop_last=drop)
    theirs = torch.utils.data.DataLoader(_stream_class(torch.utils.data.IterableDataset)(n),
                                         batch_size=bs, drop_last=drop)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert_same(a, b)


@pytest.mark.parametrize("kwargs,match", [
    (dict(shuffle=True, sampler=[0, 1]), "mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None"),
    (dict(num_workers=-1), "non-negative"),
    (dict(num_workers=2), "num_workers=0"),
    (dict(persistent_workers=True), "persistent_workers"),
])
def test_dataloader_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(list(range(4)), **kwargs)


def test_dataloader_argument_errors_also_raise_in_torch():
    torch = pytest.importorskip("torch")
    for kwargs in [dict(shuffle=True, sampler=[0, 1]), dict(batch_sampler=[[0]], batch_size=2),
                   dict(batch_size=None, drop_last=True), dict(num_workers=-1)]:
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(list(range(4)), **kwargs)


def test_iterable_dataset_refuses_shuffle_and_samplers():
    for kwargs in [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])]:
        with pytest.raises(ValueError, match="IterableDataset"):
            DataLoader(_Stream(3), **kwargs)


def test_attributes_locked_after_init():
    loader = DataLoader(list(range(4)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute"):
        loader.batch_size = 3
    loader.collate_fn = default_collate  # not locked, as in PyTorch


def test_utils_data_alias_and_training_loop():
    from chainrule.utils.data import DataLoader as DL, TensorDataset as TD
    import chainrule.utils.data as ud
    assert DL is DataLoader and TD is TensorDataset and cr.utils.data.random_split is random_split
    assert ud.default_collate is default_collate and cr.data.DataLoader is DataLoader
    # a least-squares fit by minibatch SGD through the loader: loss falls
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5], np.float32)
    w = cr.zeros(3, requires_grad=True)
    loader = DL(TD(cr.tensor(x), cr.tensor(y)), batch_size=16, shuffle=True,
                generator=cr.Generator().manual_seed(0))
    first = None
    for _ in range(20):
        for bx, by in loader:
            loss = ((bx @ w - by) ** 2).mean()
            first = loss.item() if first is None else first
            loss.backward()
            with cr.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
    assert loss.item() < 1e-3 * first
    np.testing.assert_allclose(w.detach().numpy(), [1.0, -2.0, 0.5], atol=1e-2)
    assert math.isfinite(loss.item())
