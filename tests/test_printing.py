"""Tests for chainrule._printing: PyTorch-style tensor reprs of NumPy arrays.

Two kinds of tests:

* literal strings (from torch's docs and hand-checked against torch), which run
  without torch;
* oracle tests that compare with ``repr(torch.tensor(arr))`` over parametrized and
  hypothesis-generated arrays and print options; they skip when torch is missing.

About the dtype label: torch decides whether to wrap ``dtype=...`` onto its own line
from the suffix's length, and ``chainrule.float64`` is 4 characters longer than
``torch.float64``.  So the exact oracle passes torch's own label (``torch.float64``)
to ``tensor_repr``; the ``chainrule.`` label is compared with torch's string after
``replace('torch.', 'chainrule.')`` only where the extra characters cannot change a
line break (see ``_assert_matches_torch``), and the wrapping itself is covered by a
literal test.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule._printing import get_printoptions, set_printoptions, tensor_repr

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
# dtypes torch leaves out of a non-empty tensor's repr (float32 is the default dtype).
UNLABELLED = {"float32", "int64", "bool"}
DEFAULT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                   "sci_mode": None}


@pytest.fixture(autouse=True)
def _reset_printoptions():
    """Leave both chainrule's and (if loaded) torch's print options at their defaults."""
    yield
    set_printoptions(profile="default")
    if "torch" in sys.modules:
        sys.modules["torch"].set_printoptions(profile="default")


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize("array, kwargs, expected", [
    # Strings from torch's documentation.
    (np.array([0, 4, 8, 12], np.float32), {}, "tensor([ 0.,  4.,  8., 12.])"),
    (np.array(28.0, np.float32), {"extras": ["grad_fn=<MulBackward0>"]},
     "tensor(28., grad_fn=<MulBackward0>)"),
    (np.array(33.2, np.float32), {"extras": ["requires_grad=True"]},
     "tensor(33.2000, requires_grad=True)"),
    (np.array(-4800.0, np.float32), {}, "tensor(-4800.)"),
    # Multi-line contents: suffixes follow the closing bracket on the last line.
    (np.array([[1.0, 2.0], [3.0, 4.0]]), {"dtype_label": "chainrule.float64"},
     "tensor([[1., 2.],\n        [3., 4.]], dtype=chainrule.float64)"),
    (np.arange(8, dtype=np.int64).reshape(2, 2, 2), {},
     "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])"),
    # Styles: fixed point, scientific, nan/inf, negative zero, bools.
    (np.array([1.5, -0.25], np.float32), {}, "tensor([ 1.5000, -0.2500])"),
    (np.array([1e5, 1e-5], np.float32), {}, "tensor([1.0000e+05, 1.0000e-05])"),
    (np.array([np.nan, -np.inf, 2.0], np.float32), {}, "tensor([nan, -inf, 2.])"),
    (np.array([-0.0, 1.0], np.float32), {}, "tensor([-0., 1.])"),
    (np.array([0.0, 0.0], np.float32), {}, "tensor([0., 0.])"),
    (np.array([True, False]), {}, "tensor([ True, False])"),
    (np.array([7, -12], np.int8), {"dtype_label": "chainrule.int8"},
     "tensor([  7, -12], dtype=chainrule.int8)"),
    # Empty tensors: the size comes before the dtype label.
    (np.zeros(0, np.float32), {}, "tensor([])"),
    (np.zeros((0, 3), np.float32), {}, "tensor([], size=(0, 3))"),
    (np.zeros((2, 0), np.int64), {"dtype_label": "chainrule.int64"},
     "tensor([], size=(2, 0), dtype=chainrule.int64)"),
    # Suffixes wrap onto their own line when the last line would reach linewidth.
    (np.arange(13, dtype=np.int32), {"dtype_label": "chainrule.int32"},
     "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12],\n"
     "       dtype=chainrule.int32)"),
    (np.arange(13, dtype=np.int32), {"dtype_label": "torch.int32"},
     "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12], dtype=torch.int32)"),
    (np.array(1.0), {"dtype_label": "chainrule.float64", "extras": ["requires_grad=True"]},
     "tensor(1., dtype=chainrule.float64, requires_grad=True)"),
])
def test_literal(array, kwargs, expected):
    assert tensor_repr(array, **kwargs) == expected


def test_vector_wraps_at_linewidth_with_indent_under_first_element():
    expected = (
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19.])"
    )
    assert tensor_repr(np.arange(20, dtype=np.float32)) == expected


def test_extras_keep_their_order():
    assert tensor_repr(np.array([1.0, 2.0], np.float32), extras=["a=1", "b=2"]) == (
        "tensor([1., 2.], a=1, b=2)")


def test_suffix_after_a_wrapped_suffix():
    # Checked against torch 2.13 with linewidth=46: dtype no longer fits on the last
    # line of the contents; requires_grad then fits after it exactly (46 columns).
    set_printoptions(linewidth=46)
    extras = {"dtype_label": "torch.float64", "extras": ["requires_grad=True"]}
    assert tensor_repr(np.arange(10.0) * 1.5, **extras) == (
        "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,\n"
        "         6.0000,  7.5000,  9.0000, 10.5000,\n"
        "        12.0000, 13.5000],\n"
        "       dtype=torch.float64, requires_grad=True)")
    assert tensor_repr(np.arange(6.0) * 1.5, **extras) == (
        "tensor([0.0000, 1.5000, 3.0000, 4.5000,\n"
        "        6.0000, 7.5000], dtype=torch.float64,\n"
        "       requires_grad=True)")


def test_summarized_matrix():
    expected = (
        "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
        "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
        "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
        "        ...,\n"
        "        [1700, 1701, 1702,  ..., 1797, 1798, 1799],\n"
        "        [1800, 1801, 1802,  ..., 1897, 1898, 1899],\n"
        "        [1900, 1901, 1902,  ..., 1997, 1998, 1999]])"
    )
    assert tensor_repr(np.arange(2000).reshape(20, 100)) == expected


def test_torch_docs_printoptions_examples():
    set_printoptions(precision=2)
    assert tensor_repr(np.array([1.12345], np.float32)) == "tensor([1.12])"
    set_printoptions(threshold=5)
    assert tensor_repr(np.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="default")
    assert tensor_repr(np.array([1.12345], np.float32)) == "tensor([1.1235])"
    assert tensor_repr(np.arange(10)) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_sci_mode_option_forces_and_disables_scientific():
    values = np.array([1.0, 2.5], np.float32)
    set_printoptions(sci_mode=True)
    assert tensor_repr(values) == "tensor([1.0000e+00, 2.5000e+00])"
    set_printoptions(sci_mode=False)
    assert tensor_repr(np.array([1e5, 1e-5], np.float32)) == "tensor([100000.0000,      0.0000])"


def test_edgeitems_zero_adds_size_suffix():
    set_printoptions(edgeitems=0, threshold=5)
    assert tensor_repr(np.arange(12.0).reshape(3, 4), dtype_label="chainrule.float64") == (
        "tensor([...], size=(3, 4), dtype=chainrule.float64)")
    assert tensor_repr(np.arange(12, dtype=np.float32)) == "tensor([...], size=(12,))"


def test_get_printoptions_defaults_and_roundtrip():
    assert get_printoptions() == DEFAULT_OPTIONS
    set_printoptions(precision=2, threshold=10, edgeitems=1, linewidth=40, sci_mode=True)
    changed = get_printoptions()
    assert changed == {"precision": 2, "threshold": 10, "edgeitems": 1, "linewidth": 40,
                       "sci_mode": True}
    set_printoptions(profile="default")
    assert get_printoptions() == DEFAULT_OPTIONS
    set_printoptions(**changed)
    assert get_printoptions() == changed


def test_get_printoptions_returns_a_copy():
    options = get_printoptions()
    options["precision"] = 9
    assert get_printoptions()["precision"] == 4


@pytest.mark.parametrize("profile, expected", [
    ("default", DEFAULT_OPTIONS),
    ("short", {**DEFAULT_OPTIONS, "precision": 2, "edgeitems": 2}),
    ("full", {**DEFAULT_OPTIONS, "threshold": float("inf")}),
])
def test_profiles(profile, expected):
    set_printoptions(precision=7, threshold=3, edgeitems=5, linewidth=50)
    set_printoptions(profile=profile)
    assert get_printoptions() == expected


def test_explicit_options_override_profile_and_sci_mode_resets():
    set_printoptions(profile="short", precision=6, sci_mode=False)
    assert get_printoptions()["precision"] == 6
    assert get_printoptions()["sci_mode"] is False
    set_printoptions(linewidth=100)  # like torch: sci_mode goes back to automatic
    assert get_printoptions()["sci_mode"] is None


def test_unknown_profile_rejected():
    with pytest.raises(ValueError):
        set_printoptions(profile="tiny")


def test_complex_rejected():
    with pytest.raises(TypeError):
        tensor_repr(np.array([1 + 2j]))


# --------------------------------------------------------------------------- torch oracle


def _torch():
    return pytest.importorskip("torch")


def _dtype_label(array: np.ndarray, module: str) -> str | None:
    """The label torch shows: none for its default dtypes, except that an empty tensor
    shows every dtype but the default float one."""
    name = array.dtype.name
    if name in UNLABELLED and not (array.size == 0 and name != "float32"):
        return None
    return f"{module}.{name}"


def _torch_tensor(array: np.ndarray, extra: str | None):
    """The torch tensor whose repr is the oracle; ``extra`` adds requires_grad or a grad_fn."""
    torch = _torch()
    tensor = torch.tensor(array.copy(order="C"))  # torch rejects negative strides
    if extra == "requires_grad":
        tensor.requires_grad_(True)
    elif extra == "grad_fn":
        tensor = tensor.requires_grad_(True) * 1
    return tensor


_EXTRA_SUFFIX = {None: [], "requires_grad": ["requires_grad=True"],
                 "grad_fn": ["grad_fn=<MulBackward0>"]}


def _label_cannot_change_wrapping(expected: str, linewidth: int) -> bool:
    """True when renaming 'torch.' to 'chainrule.' (4 more characters) in the dtype
    suffix leaves torch's line breaks unchanged: no suffix was wrapped onto its own
    line, and the last line stays shorter than linewidth (torch wraps a suffix exactly
    when the line, closing parenthesis included, would reach linewidth)."""
    lines = expected.split("\n")
    suffix_wrapped = any(line.startswith(" " * len("tensor(") + suffix)
                         for line in lines[1:]
                         for suffix in ("dtype=", "requires_grad=", "grad_fn="))
    return not suffix_wrapped and len(lines[-1]) + len("chainrule.") - len("torch.") < linewidth


def _assert_matches_torch(array: np.ndarray, extra: str | None = None) -> None:
    """Compare tensor_repr with torch's repr under the current (shared) print options."""
    expected = repr(_torch_tensor(array, extra))
    got = tensor_repr(array, dtype_label=_dtype_label(array, "torch"),
                      extras=_EXTRA_SUFFIX[extra])
    assert got == expected

    label = _dtype_label(array, "chainrule")
    if label is not None and _label_cannot_change_wrapping(expected, get_printoptions()["linewidth"]):
        got = tensor_repr(array, dtype_label=label,
                          extras=_EXTRA_SUFFIX[extra])
        assert got == expected.replace("torch.", "chainrule.")


def _set_both(**options) -> None:
    set_printoptions(**options)
    _torch().set_printoptions(**options)


_RNG = np.random.default_rng(20240601)

NAMED_ARRAYS = {
    "scalar_int_valued": np.array(28.0, np.float32),
    "scalar_fixed": np.array(33.2, np.float32),
    "scalar_negative": np.array(-4800.0, np.float32),
    "scalar_sci": np.array(1.5e-7),
    "scalar_nan": np.array(np.nan, np.float32),
    "scalar_neg_inf": np.array(-np.inf),
    "scalar_neg_zero": np.array(-0.0, np.float32),
    "scalar_int8": np.array(-128, np.int8),
    "scalar_bool": np.array(False),
    "scalar_uint8": np.array(255, np.uint8),
    "vector_int_valued": np.array([0, 4, 8, 12], np.float32),
    "vector_mixed_sign": np.array([-3.5, 2.25, 100.0], np.float64),
    "vector_range_1000": np.array([1.0, 1000.0], np.float32),
    "vector_range_1001": np.array([1.0, 1001.0], np.float32),
    "vector_big_1e8": np.array([1e8, 2e8]),
    "vector_just_under_1e8": np.array([99999999.0, 5e7]),
    "vector_exactly_1e8": np.array([1e8, 5e7], np.float32),
    "vector_small_1e-4": np.array([1e-4, 2e-4]),
    "vector_smaller_than_1e-4": np.array([9e-5, 2e-4]),
    "vector_nan_inf_zero": np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], np.float32),
    "vector_neg_zero_and_values": np.array([-0.0, 0.5, -1.25], np.float32),
    "vector_huge_int_valued": np.array([1e20, -3.0]),
    "vector_float16": np.array([0.1, 65504.0, -2.0], np.float16),
    "vector_float16_tiny": np.array([6e-8, 1.0], np.float16),
    "vector_float32_rounding": np.array([0.1, 0.2, 0.3], np.float32),
    "vector_wraps": np.arange(50, dtype=np.float32) / 3,
    "vector_wraps_sci": np.geomspace(1e-6, 1e6, 40),
    "vector_long_int64": np.arange(-60, 60, 7, dtype=np.int64) * 10**12,
    "vector_bool": _RNG.random(37) > 0.5,
    "vector_uint8": np.arange(0, 256, 9, dtype=np.uint8),
    "vector_int16": np.array([-32768, 0, 32767], np.int16),
    "vector_int32": _RNG.integers(-(2**31), 2**31, 25, dtype=np.int32),
    "matrix_float64": _RNG.normal(size=(3, 4)),
    "matrix_wide_rows_wrap": _RNG.normal(size=(2, 15)) * 100,
    "matrix_int_valued": np.arange(-6.0, 6.0).reshape(3, 4),
    "matrix_single_column": np.arange(5, dtype=np.int32).reshape(5, 1),
    "matrix_single_row": np.arange(5, dtype=np.int16).reshape(1, 5),
    "tensor3d": _RNG.normal(size=(2, 3, 4)).astype(np.float32),
    "tensor3d_mixed": (_RNG.normal(size=(2, 2, 3)) * 10.0 ** _RNG.integers(-6, 6, (2, 2, 3))),
    "tensor4d": _RNG.integers(-50, 50, (2, 2, 2, 3)).astype(np.int8),
    "tensor4d_bool": _RNG.random((2, 1, 3, 2)) > 0.3,
    "tensor4d_float16": _RNG.normal(size=(1, 2, 2, 2)).astype(np.float16),
    "noncontiguous": np.arange(24.0).reshape(4, 6)[::2, ::-3],
    "empty_1d": np.zeros(0, np.float32),
    "empty_1d_int64": np.zeros(0, np.int64),
    "empty_1d_bool": np.zeros(0, np.bool_),
    "empty_2d": np.zeros((0, 3), np.float32),
    "empty_3d_float64": np.zeros((2, 0, 4)),
    "empty_4d_uint8": np.zeros((1, 1, 0, 1), np.uint8),
}


@pytest.mark.parametrize("name", sorted(NAMED_ARRAYS))
def test_named_arrays_match_torch(name):
    _assert_matches_torch(NAMED_ARRAYS[name])


@pytest.mark.parametrize("extra", ["requires_grad", "grad_fn"])
@pytest.mark.parametrize("name", [n for n in sorted(NAMED_ARRAYS)
                                  if NAMED_ARRAYS[n].dtype.kind == "f"])
def test_named_float_arrays_with_extras_match_torch(name, extra):
    _assert_matches_torch(NAMED_ARRAYS[name], extra)


SUMMARIZED_SHAPES = [(1001,), (2000,), (40, 30), (1, 1001), (1001, 1), (3, 500), (500, 3),
                     (10, 10, 11), (7, 3, 50), (2, 3, 4, 50), (9, 9, 9, 9)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SUMMARIZED_SHAPES, ids=str)
def test_summarized_arrays_match_torch(shape, dtype):
    rng = np.random.default_rng([*shape, DTYPES.index(dtype)])  # deterministic per case
    if dtype == "bool":
        array = rng.random(shape) > 0.5
    elif np.dtype(dtype).kind == "f":
        # Scaled so the edge items (all the formatter sees) vary in magnitude.
        array = (rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    _assert_matches_torch(array)


def test_summarized_formatter_ignores_hidden_elements():
    # The huge middle value is not printed, so it must not force scientific notation.
    array = np.ones(1001, np.float32)
    array[500] = 1e12
    _assert_matches_torch(array)
    assert tensor_repr(array) == "tensor([1., 1., 1.,  ..., 1., 1., 1.])"


OPTION_SETS = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 8},
    {"sci_mode": True},
    {"sci_mode": False},
    {"precision": 1, "sci_mode": True},
    {"threshold": 5},
    {"threshold": 5, "edgeitems": 1},
    {"threshold": 5, "edgeitems": 0},
    {"threshold": 20, "edgeitems": 5},
    {"linewidth": 30},
    {"linewidth": 10},
    {"linewidth": 200},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 5, "linewidth": 60},
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=str)
@pytest.mark.parametrize("name", ["scalar_fixed", "vector_wraps", "vector_wraps_sci",
                                  "vector_nan_inf_zero", "vector_bool", "vector_long_int64",
                                  "matrix_float64", "tensor3d", "tensor4d", "empty_2d",
                                  "vector_huge_int_valued", "scalar_int8"])
def test_printoptions_match_torch(name, options):
    _set_both(**options)
    _assert_matches_torch(NAMED_ARRAYS[name])


@pytest.mark.parametrize("options", [{}, {"profile": "full"}, {"edgeitems": 1}], ids=str)
def test_large_printoptions_match_torch(options):
    _set_both(**options)
    _assert_matches_torch(_RNG.normal(size=(30, 40)).astype(np.float32))


# --------------------------------------------------------------------------- hypothesis

# Values chosen to hit the formatter's decisions: whole numbers, the 1e-4 / 1e8 /
# ratio-1000 boundaries, nan/inf, negative zero, plus arbitrary doubles.
_SPECIAL_FLOATS = [0.0, -0.0, 0.5, 1.0, -1.0, 33.2, -4800.0, 1e-4, 9.99e-5, 1e8, 1.0000001e8,
                   1000.0, 1001.0, 1e-8, 1e15, 65504.0, np.nan, np.inf, -np.inf]
_FLOAT_VALUES = st.one_of(
    st.sampled_from(_SPECIAL_FLOATS),
    st.integers(-10**6, 10**6).map(float),
    st.floats(-100, 100),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def arrays(draw, max_dims: int = 4, max_side: int = 5) -> np.ndarray:
    """Arrays of every supported dtype, 0-d to ``max_dims``-d, sometimes empty."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side))
    if dtype.kind == "f":
        # Draw doubles and round them to the target type, so float16/float32 also get
        # overflow to inf and rounding, as torch.tensor(list_of_floats) would.
        doubles = draw(hnp.arrays(np.float64, shape, elements=_FLOAT_VALUES))
        with np.errstate(over="ignore"):
            return doubles.astype(dtype)
    if dtype.kind == "b":
        return draw(hnp.arrays(dtype, shape))
    info = np.iinfo(dtype)
    small = st.integers(max(info.min, -20), min(info.max, 20))
    elements = st.one_of(small, st.integers(info.min, info.max))
    return draw(hnp.arrays(dtype, shape, elements=elements))


_HYPOTHESIS = settings(max_examples=300, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_HYPOTHESIS
@given(array=arrays())
def test_hypothesis_arrays_match_torch(array):
    _assert_matches_torch(array)


@_HYPOTHESIS
@given(array=arrays(max_dims=2, max_side=12), extra=st.sampled_from(["requires_grad", "grad_fn"]))
def test_hypothesis_float_arrays_with_extras_match_torch(array, extra):
    if array.dtype.kind != "f":
        array = array.astype(np.float32)
    _assert_matches_torch(array, extra)


_OPTIONS = st.fixed_dictionaries({}, optional={
    "precision": st.integers(0, 10),
    "threshold": st.integers(1, 60),
    "edgeitems": st.integers(0, 4),
    "linewidth": st.integers(1, 150),
    "sci_mode": st.sampled_from([True, False]),
    "profile": st.sampled_from(["default", "short", "full"]),
})


@_HYPOTHESIS
@given(array=arrays(max_dims=3, max_side=9), options=_OPTIONS)
def test_hypothesis_printoptions_match_torch(array, options):
    try:
        _set_both(**options)
        _assert_matches_torch(array)
    finally:  # hypothesis runs many examples inside one test call
        _set_both(profile="default")
