"""dtype objects, type promotion and dtype inference, checked against PyTorch."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
PAIRS = list(itertools.product(NAMES, NAMES))


def cdt(name):
    return getattr(cr, name)


def tdt(torch, name):
    return getattr(torch, name)


@pytest.fixture
def restore_default_dtype():
    before = cr.get_default_dtype()
    yield
    cr.set_default_dtype(before)
    assert cr.get_default_dtype() is before


# --------------------------------------------------------------------------- dtype objects


@pytest.mark.parametrize("name", NAMES)
def test_dtype_repr_and_identity(name):
    d = cdt(name)
    assert repr(d) == f"chainrule.{name}"
    assert isinstance(d, cr.dtype)
    assert cdt(name) is d


def test_aliases():
    assert cr.float is cr.float32
    assert cr.double is cr.float64
    assert cr.half is cr.float16
    assert cr.long is cr.int64
    assert cr.int is cr.int32
    assert cr.short is cr.int16
    assert repr(cr.float) == "chainrule.float32"
    assert repr(cr.long) == "chainrule.int64"


def test_aliases_match_torch():
    torch = pytest.importorskip("torch")
    for alias in ["float", "double", "half", "long", "int", "short"]:
        assert repr(getattr(cr, alias)).split(".")[1] == repr(getattr(torch, alias)).split(".")[1]


@pytest.mark.parametrize("name", NAMES)
def test_is_floating_point(name):
    torch = pytest.importorskip("torch")
    assert cdt(name).is_floating_point == tdt(torch, name).is_floating_point
    t = cr.zeros(2, dtype=cdt(name))
    assert t.is_floating_point() == torch.zeros(2, dtype=tdt(torch, name)).is_floating_point()
    assert cr.is_floating_point(t) == (name.startswith("float"))


def test_dtype_equality_and_hash():
    assert cr.float32 == cr.float32
    assert cr.float32 != cr.float64
    assert len({cr.float32, cr.float, cr.float64, cr.double}) == 2


def test_tensor_dtype_attribute_and_itemsize():
    for name, size in [("float32", 4), ("float64", 8), ("int64", 8), ("int32", 4), ("uint8", 1),
                       ("bool", 1), ("float16", 2)]:
        t = cr.zeros(3, dtype=cdt(name))
        assert t.dtype is cdt(name)
        assert t.element_size() == size
        assert t.numpy().dtype == np.dtype(name)


# --------------------------------------------------------------------------- promotion


def test_promote_types_hand_cases():
    assert cr.promote_types(cr.int64, cr.float32) is cr.float32
    assert cr.promote_types(cr.uint8, cr.int8) is cr.int16
    assert cr.promote_types(cr.uint8, cr.int32) is cr.int32
    assert cr.promote_types(cr.bool, cr.uint8) is cr.uint8
    assert cr.promote_types(cr.float16, cr.int64) is cr.float16
    assert cr.promote_types(cr.float16, cr.float32) is cr.float32
    assert cr.promote_types(cr.int32, cr.int64) is cr.int64


@pytest.mark.parametrize("a, b", PAIRS)
def test_promote_types_matches_torch(a, b):
    torch = pytest.importorskip("torch")
    want = torch.promote_types(tdt(torch, a), tdt(torch, b))
    got = cr.promote_types(cdt(a), cdt(b))
    assert repr(got) == repr(want).replace("torch.", "chainrule.")


def _example(lib, name, zero_dim):
    dt = getattr(lib, name)
    return lib.ones((), dtype=dt) if zero_dim else lib.ones(2, dtype=dt)


@pytest.mark.parametrize("za, zb", [(False, False), (False, True), (True, False), (True, True)],
                         ids=["dim-dim", "dim-0d", "0d-dim", "0d-0d"])
def test_result_type_tensors_match_torch(za, zb):
    torch = pytest.importorskip("torch")
    bad = []
    for a, b in PAIRS:
        want = torch.result_type(_example(torch, a, za), _example(torch, b, zb))
        got = cr.result_type(_example(cr, a, za), _example(cr, b, zb))
        if repr(got).split(".")[1] != repr(want).split(".")[1]:
            bad.append((a, b, got, want))
    assert not bad


@pytest.mark.parametrize("scalar", [True, 3, -2, 2.5])
@pytest.mark.parametrize("zero_dim", [False, True])
def test_result_type_with_python_scalars(scalar, zero_dim):
    torch = pytest.importorskip("torch")
    bad = []
    for name in NAMES:
        want = torch.result_type(_example(torch, name, zero_dim), scalar)
        got = cr.result_type(_example(cr, name, zero_dim), scalar)
        if repr(got).split(".")[1] != repr(want).split(".")[1]:
            bad.append((name, scalar, got, want))
    assert not bad


def test_result_type_hand_cases():
    i = cr.tensor([1, 2])
    assert cr.result_type(i, 2.5) is cr.float32          # Python float: default dtype
    assert cr.result_type(i, cr.tensor(2.5, dtype=cr.float64)) is cr.float64  # 0-d higher category
    assert cr.result_type(cr.ones(2), cr.tensor(1.0, dtype=cr.float64)) is cr.float32  # same category
    assert cr.result_type(cr.tensor([1], dtype=cr.int8), 1000) is cr.int8
    assert cr.result_type(cr.tensor([True]), 3) is cr.int64


@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_operator_result_dtypes_match_torch(op):
    torch = pytest.importorskip("torch")
    bad = []
    for a, b in PAIRS:
        if op == "add" and a == b == "bool":
            continue  # torch: bool + bool works as logical or; not part of this check
        ta, tb = torch.ones(2, dtype=tdt(torch, a)), torch.ones(2, dtype=tdt(torch, b))
        ca, cb = cr.ones(2, dtype=cdt(a)), cr.ones(2, dtype=cdt(b))
        want = getattr(torch, op)(ta, tb).dtype
        try:
            got = getattr(cr, op)(ca, cb).dtype
        except Exception as exc:  # noqa: BLE001
            bad.append((a, b, repr(exc)))
            continue
        if repr(got).split(".")[1] != repr(want).split(".")[1]:
            bad.append((a, b, got, want))
    assert not bad


@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_operator_with_scalar_dtypes_match_torch(scalar):
    torch = pytest.importorskip("torch")
    bad = []
    for name in NAMES:
        for zero_dim in (False, True):
            t = _example(torch, name, zero_dim)
            c = _example(cr, name, zero_dim)
            for f in (lambda x: x * scalar, lambda x: scalar * x, lambda x: x - scalar):
                try:
                    want = f(t).dtype
                except Exception:  # noqa: BLE001  (e.g. bool - bool is refused by torch)
                    continue
                got = f(c).dtype
                if repr(got).split(".")[1] != repr(want).split(".")[1]:
                    bad.append((name, zero_dim, scalar, got, want))
    assert not bad


# --------------------------------------------------------------------------- inference


@pytest.mark.parametrize("data, want", [
    ([1.0, 2.0], "float32"),
    (3.5, "float32"),
    ([1, 2, 3], "int64"),
    (7, "int64"),
    ([True, False], "bool"),
    (True, "bool"),
    ([1, 2.5], "float32"),
    ([True, 2], "int64"),
    ([[1, 2], [3, 4]], "int64"),
    ([], "float32"),
])
def test_tensor_inference(data, want):
    t = cr.tensor(data)
    assert t.dtype is cdt(want)
    torch = pytest.importorskip("torch")
    assert repr(torch.tensor(data).dtype) == f"torch.{want}"


@pytest.mark.parametrize("np_dtype", ["float64", "float32", "float16", "int32", "int64", "int16",
                                      "int8", "uint8", "bool"])
def test_numpy_arrays_keep_dtype(np_dtype):
    a = np.zeros(3, dtype=np_dtype)
    assert cr.tensor(a).dtype is cdt(np_dtype)
    assert cr.from_numpy(a).dtype is cdt(np_dtype)
    assert cr.as_tensor(a).dtype is cdt(np_dtype)


def test_numpy_scalars_keep_dtype():
    torch = pytest.importorskip("torch")
    for v in [np.float64(1.5), np.float32(1.5), np.int32(3)]:
        assert repr(cr.tensor(v).dtype).split(".")[1] == repr(torch.tensor(v).dtype).split(".")[1]


def test_explicit_dtype_wins():
    t = cr.tensor([1, 2], dtype=cr.float64)
    assert t.dtype is cr.float64
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    t = cr.tensor([1.7, -2.7], dtype=cr.int64)
    assert t.dtype is cr.int64
    np.testing.assert_array_equal(t.numpy(), [1, -2])   # truncation toward zero, like torch


def test_unsupported_numpy_dtype_is_a_type_error():
    with pytest.raises(TypeError) as ei:
        cr.tensor(np.array(["a", "b"]))
    assert "dtype" in str(ei.value)


# --------------------------------------------------------------------------- default dtype


def test_set_default_dtype_round_trip(restore_default_dtype):
    assert cr.get_default_dtype() is cr.float32
    cr.set_default_dtype(cr.float64)
    assert cr.get_default_dtype() is cr.float64
    assert cr.tensor([1.0, 2.0]).dtype is cr.float64
    assert cr.tensor([1, 2]).dtype is cr.int64
    assert cr.zeros(2).dtype is cr.float64
    assert cr.ones(2).dtype is cr.float64
    assert cr.arange(3.0).dtype is cr.float64
    assert cr.result_type(cr.tensor([1, 2]), 0.5) is cr.float64
    assert (cr.tensor([1, 2]) * 0.5).dtype is cr.float64
    cr.set_default_dtype(cr.float32)
    assert cr.get_default_dtype() is cr.float32
    assert cr.tensor([1.0]).dtype is cr.float32
    assert cr.zeros(2).dtype is cr.float32


def test_set_default_dtype_refuses_integers(restore_default_dtype):
    with pytest.raises(TypeError):
        cr.set_default_dtype(cr.int64)
    assert cr.get_default_dtype() is cr.float32


def test_default_dtype_matches_torch_behaviour(restore_default_dtype):
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    try:
        for d in ("float64", "float32"):
            torch.set_default_dtype(getattr(torch, d))
            cr.set_default_dtype(getattr(cr, d))
            for make in (lambda lib: lib.tensor([1.5]), lambda lib: lib.arange(2.0),
                         lambda lib: lib.linspace(0, 1, 3), lambda lib: lib.rand(2),
                         lambda lib: lib.tensor([1, 2]) / 2, lambda lib: lib.full((2,), 1.5)):
                assert repr(make(cr).dtype).split(".")[1] == repr(make(torch).dtype).split(".")[1]
    finally:
        torch.set_default_dtype(before)
