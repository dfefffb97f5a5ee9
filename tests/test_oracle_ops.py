"""chainrule's public ops against PyTorch, the oracle.

Every test builds the same inputs in both libraries from NumPy arrays, runs the same code
(``fn(L, *inputs)`` with ``L`` the library module, since ``import chainrule as torch`` is
the promise), and compares

* forward values, result dtypes, shapes and ``requires_grad`` of every output;
* the gradients of every input after one backward pass with a random cotangent
  (``out.backward(gradient)`` for one output, ``sum((out_i * ct_i).sum())`` for several);
* the ``grad_fn`` name where chainrule's primitive mirrors PyTorch's node.

float32 is compared with rtol 1e-5 / atol 1e-6, float64 tightly; integer and bool
results exactly.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

TOL = {"float16": (2e-3, 2e-3), "float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}
FLOATS = ["float32", "float64"]


# ----------------------------------------------------------------------------- helpers

def _dtype_name(t) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def _numpy(t) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flat(item)]
    return [out]


def assert_same(c, t, what: str = "output", tol=None) -> None:
    """``c`` (chainrule) matches ``t`` (torch) in type, dtype, shape and values."""
    assert isinstance(c, cr.Tensor), f"{what}: expected a chainrule Tensor, got {type(c).__name__}"
    assert _dtype_name(c) == _dtype_name(t), f"{what}: dtype {c.dtype} != torch's {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), f"{what}: shape {tuple(c.shape)} != torch's {tuple(t.shape)}"
    cv, tv = _numpy(c), _numpy(t)
    if tv.dtype.kind == "f":
        rtol, atol = tol or TOL[_dtype_name(t)]
        np.testing.assert_allclose(cv, tv, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(cv, tv, err_msg=what)


def check(fn, *arrays, requires_grad=None, tol=None, grad_fn=None, seed=0):
    """Run ``fn(L, *inputs)`` in both libraries, compare outputs and then gradients.

    ``requires_grad``: one flag per array (default: the floating ones).
    ``grad_fn``: the expected node name of the first output, asserted for both libraries.
    """
    arrays = [np.asarray(a) for a in arrays]
    if requires_grad is None:
        requires_grad = [a.dtype.kind == "f" for a in arrays]
    c_in = [cr.tensor(a, requires_grad=bool(r)) for a, r in zip(arrays, requires_grad)]
    t_in = [torch.tensor(a, requires_grad=bool(r)) for a, r in zip(arrays, requires_grad)]
    c_out = _flat(fn(cr, *c_in))
    t_out = _flat(fn(torch, *t_in))
    assert len(c_out) == len(t_out), f"{len(c_out)} outputs, torch has {len(t_out)}"
    for i, (c, t) in enumerate(zip(c_out, t_out)):
        assert_same(c, t, f"output {i}", tol)
        assert c.requires_grad == t.requires_grad, f"output {i}: requires_grad {c.requires_grad}"
    if grad_fn is not None:
        assert t_out[0].grad_fn is not None and t_out[0].grad_fn.name() == grad_fn, \
            "the oracle disagrees with the expected name"
        assert c_out[0].grad_fn is not None and c_out[0].grad_fn.name() == grad_fn
    diff = [k for k, t in enumerate(t_out) if t.requires_grad]
    if not diff:
        return c_out, t_out
    rng = np.random.default_rng(seed)
    cts = [rng.standard_normal(tuple(t_out[k].shape)).astype(_numpy(t_out[k]).dtype) for k in diff]
    if len(diff) == 1:
        c_out[diff[0]].backward(cr.tensor(cts[0]))
        t_out[diff[0]].backward(torch.tensor(cts[0]))
    else:
        sum((c_out[k] * cr.tensor(ct)).sum() for k, ct in zip(diff, cts)).backward()
        sum((t_out[k] * torch.tensor(ct)).sum() for k, ct in zip(diff, cts)).backward()
    for j, (c, t) in enumerate(zip(c_in, t_in)):
        if not t.requires_grad:
            continue
        if t.grad is None:  # torch: the input does not reach the output
            assert c.grad is None or not np.any(_numpy(c.grad)), f"input {j}: unexpected gradient"
        elif c.grad is None:  # chainrule: the input does not reach the output
            assert not np.any(_numpy(t.grad)), f"input {j}: no gradient"
        else:
            assert c.grad is not None, f"input {j}: no gradient"
            assert_same(c.grad, t.grad, f"gradient of input {j}", tol)
    return c_out, t_out


def randn(rng, *shape, dtype="float64", scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def uniform(rng, lo, hi, *shape, dtype="float64"):
    return rng.uniform(lo, hi, shape).astype(dtype)


def _F(L):
    """``torch.nn.functional`` for torch; chainrule keeps these ops at the top level."""
    return torch.nn.functional if L is torch else L


# ----------------------------------------------------------------------------- unary math

# name, input range, torch's node name (None: chainrule composes it, names may differ)
UNARY = [
    ("exp", (-2, 2), "ExpBackward0"),
    ("exp2", (-2, 2), "Exp2Backward0"),
    ("expm1", (-2, 2), "Expm1Backward0"),
    ("log", (0.1, 3), "LogBackward0"),
    ("log2", (0.1, 3), "Log2Backward0"),
    ("log10", (0.1, 3), "Log10Backward0"),
    ("log1p", (-0.5, 3), "Log1PBackward0"),
    ("sqrt", (0.1, 3), "SqrtBackward0"),
    ("rsqrt", (0.1, 3), "RsqrtBackward0"),
    ("sin", (-4, 4), "SinBackward0"),
    ("cos", (-4, 4), "CosBackward0"),
    ("tan", (-1.2, 1.2), "TanBackward0"),
    ("tanh", (-3, 3), "TanhBackward0"),
    ("sigmoid", (-6, 6), "SigmoidBackward0"),
    ("relu", (-2, 2), "ReluBackward0"),
    ("abs", (-2, 2), "AbsBackward0"),
    ("sign", (-2, 2), "SignBackward0"),
    ("floor", (-3, 3), "FloorBackward0"),
    ("ceil", (-3, 3), "CeilBackward0"),
    ("round", (-3, 3), "RoundBackward0"),
    ("trunc", (-3, 3), "TruncBackward0"),
    ("erf", (-2.5, 2.5), "ErfBackward0"),
    ("neg", (-2, 2), "NegBackward0"),
    ("square", (-2, 2), None),
    ("reciprocal", (0.2, 3), None),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,rng_range,node", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, rng_range, node, dtype, rng):
    x = uniform(rng, *rng_range, 3, 4, dtype=dtype)
    check(lambda L, x: getattr(L, name)(x), x, grad_fn=node)
    check(lambda L, x: getattr(x, name)(), x)


def test_unary_operators(rng):
    x = randn(rng, 2, 3)
    check(lambda L, x: -x, x, grad_fn="NegBackward0")
    check(lambda L, x: abs(x), x, grad_fn="AbsBackward0")
    check(lambda L, x: (+x) * 1, x)


@pytest.mark.parametrize("name", ["relu", "abs", "sign", "floor", "round", "sqrt", "trunc"])
def test_unary_special_points(name):
    # the kinks and ties: relu'(0) = 0, |x|'(0) = 0, round half to even, sqrt'(0) = inf
    x = np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.0])
    if name == "sqrt":
        x = np.abs(x)
    check(lambda L, x: getattr(L, name)(x), x)


@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "sigmoid", "log", "erf", "abs", "neg",
                                  "sign", "floor", "relu", "round", "reciprocal", "square"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_unary_integer_inputs(name, dtype):
    if dtype == "bool" and name in ("neg", "sign", "floor", "relu", "round", "abs", "square"):
        pytest.skip("torch refuses or special-cases these on bool")
    x = np.array([1, 2, 3, 4]).astype(dtype)
    check(lambda L, x: getattr(L, name)(x), x)


def test_round_decimals():
    x = np.array([0.125, 1.2345, -2.555, 10.05], dtype=np.float64)
    check(lambda L, x: L.round(x, decimals=2), x)


# ----------------------------------------------------------------------------- binary arithmetic

SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((5, 1), (1, 5)),
          ((2, 3), ())]

BINARY = [
    ("add", lambda L, a, b: L.add(a, b), "AddBackward0", False),
    ("add_op", lambda L, a, b: a + b, "AddBackward0", False),
    ("add_alpha", lambda L, a, b: L.add(a, b, alpha=2.5), None, False),
    ("sub", lambda L, a, b: L.sub(a, b), "SubBackward0", False),
    ("sub_op", lambda L, a, b: a - b, "SubBackward0", False),
    ("sub_alpha", lambda L, a, b: a.sub(b, alpha=-3), None, False),
    ("mul", lambda L, a, b: L.mul(a, b), "MulBackward0", False),
    ("mul_op", lambda L, a, b: a * b, "MulBackward0", False),
    ("div", lambda L, a, b: L.div(a, b), "DivBackward0", True),
    ("div_op", lambda L, a, b: a / b, "DivBackward0", True),
    ("true_divide", lambda L, a, b: L.true_divide(a, b), "DivBackward0", True),
    ("pow", lambda L, a, b: L.pow(a, b), None, "pos"),
    ("pow_op", lambda L, a, b: a ** b, None, "pos"),
    ("maximum", lambda L, a, b: L.maximum(a, b), "MaximumBackward0", False),
    ("minimum", lambda L, a, b: L.minimum(a, b), "MinimumBackward0", False),
    ("max_binary", lambda L, a, b: L.max(a, b), None, False),
    ("min_binary", lambda L, a, b: L.min(a, b), None, False),
    ("remainder", lambda L, a, b: L.remainder(a, b), None, True),
    ("mod_op", lambda L, a, b: a % b, None, True),
    ("lerp", lambda L, a, b: L.lerp(a, b, 0.3), None, False),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", SHAPES, ids=[f"{a}-{b}" for a, b in SHAPES])
@pytest.mark.parametrize("name,fn,node,domain", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, fn, node, domain, sa, sb, dtype, rng):
    a = randn(rng, *sa, dtype=dtype)
    b = randn(rng, *sb, dtype=dtype)
    if domain is True:  # keep the divisor away from zero
        b = (np.sign(b) + (b == 0)) * (np.abs(b) + 0.5)
    elif domain == "pos":
        a = np.abs(a) + 0.2
    check(fn, a.astype(dtype), b.astype(dtype), grad_fn=node)


def test_maximum_minimum_ties_split_gradient():
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, 5.0])
    check(lambda L, a, b: L.maximum(a, b), a, b)
    check(lambda L, a, b: L.minimum(a, b), a, b)
    check(lambda L, a, b: a.max(b), a, b)


def test_pow_tensor_exponent_with_zero_base():
    # d/dp x**p at x = 0 (p >= 0) is 0 in PyTorch, not nan
    x = np.array([0.0, 0.5, 2.0, 0.0, 3.0])
    p = np.array([2.0, 1.5, -1.0, 0.5, 0.0])
    check(lambda L, x, p: x ** p, x, p)


@pytest.mark.parametrize("dtype", FLOATS)
def test_scalar_operands(dtype, rng):
    x = uniform(rng, 0.5, 2.0, 3, 4, dtype=dtype)
    cases = [
        (lambda L, x: x + 2, "AddBackward0"), (lambda L, x: 2 + x, "AddBackward0"),
        (lambda L, x: x - 2.5, "SubBackward0"), (lambda L, x: 2.5 - x, None),
        (lambda L, x: x * 3, "MulBackward0"), (lambda L, x: 3.5 * x, "MulBackward0"),
        (lambda L, x: x / 4, "DivBackward0"), (lambda L, x: 4 / x, None),
        (lambda L, x: x ** 2, "PowBackward0"), (lambda L, x: x ** 2.5, "PowBackward0"),
        (lambda L, x: x ** 0, None), (lambda L, x: x ** 1, None), (lambda L, x: x ** -1, None),
        (lambda L, x: x ** 0.5, None), (lambda L, x: 2 ** x, None), (lambda L, x: 2.5 ** x, None),
        (lambda L, x: x % 0.7, None),
        (lambda L, x: x.pow(3), None), (lambda L, x: L.pow(2.0, x), None),
        (lambda L, x: x.add(1.5).mul(2).sub(0.25).div(3), None),
        (lambda L, x: x + np.float64(1.5), None), (lambda L, x: x * np.int64(2), None),
    ]
    for fn, node in cases:
        check(fn, x, grad_fn=node)
    # torch has no derivative for a scalar dividend: forward only
    check(lambda L, x: 1.3 % x, x, requires_grad=[False])


@pytest.mark.parametrize("dtype", FLOATS + ["int64", "int32"])
def test_floor_divide_forward(dtype, rng):
    # forward only: torch's floor_divide has no derivative (its backward raises)
    a = (randn(rng, 3, 4) * 5).astype(dtype)
    b = randn(rng, 4) * 3
    b = ((np.sign(b) + (b == 0)) * (np.abs(b) + 1)).astype(dtype)
    check(lambda L, a, b: a // b, a, b, requires_grad=[False, False])
    check(lambda L, a, b: L.floor_divide(a, b), a, b, requires_grad=[False, False])
    check(lambda L, a, b: a // 2, a, b, requires_grad=[False, False])
    check(lambda L, a, b: 7 // b, a, b, requires_grad=[False, False])
    check(lambda L, a, b: L.div(a, b, rounding_mode="floor"), a, b, requires_grad=[False, False])
    check(lambda L, a, b: L.div(a, b, rounding_mode="trunc"), a, b, requires_grad=[False, False])


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8"])
def test_integer_arithmetic(dtype, rng):
    a = rng.integers(1, 10, (3, 4)).astype(dtype)
    b = rng.integers(1, 10, (4,)).astype(dtype)
    for fn in [lambda L, a, b: a + b, lambda L, a, b: a - b, lambda L, a, b: a * b,
               lambda L, a, b: a / b, lambda L, a, b: a % b, lambda L, a, b: a ** 2,
               lambda L, a, b: a + 3, lambda L, a, b: a * 2.5, lambda L, a, b: a / 2,
               lambda L, a, b: L.maximum(a, b), lambda L, a, b: -a if dtype != "uint8" else a,
               lambda L, a, b: a.abs(), lambda L, a, b: a.sum(), lambda L, a, b: a.prod(1),
               lambda L, a, b: a.cumsum(0)]:
        check(fn, a, b)


# ----------------------------------------------------------------------------- dtype promotion

_TENSOR_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _operands():
    out = []
    for d in _TENSOR_DTYPES:
        out.append((f"{d}[2]", lambda L, d=d: L.tensor(np.array([1, 1]).astype(d))))
        out.append((f"{d}[]", lambda L, d=d: L.tensor(np.array(1).astype(d))))
    out += [("True", lambda L: True), ("int", lambda L: 2), ("float", lambda L: 2.5)]
    return out


_OPERANDS = _operands()
_PROMOTING_OPS = {
    "add": lambda L, a, b: a + b, "mul": lambda L, a, b: L.mul(a, b), "div": lambda L, a, b: L.div(a, b),
    "sub": lambda L, a, b: L.sub(a, b), "maximum": lambda L, a, b: L.maximum(a, b),
    "where": lambda L, a, b: L.where(L.tensor([True, False]), a, b),
    "eq": lambda L, a, b: a == b,
}


@pytest.mark.parametrize("op", sorted(_PROMOTING_OPS))
def test_dtype_promotion_table(op):
    fn = _PROMOTING_OPS[op]
    checked = 0
    for na, ma in _OPERANDS:
        for nb, mb in _OPERANDS:
            ta, tb = ma(torch), mb(torch)
            if not isinstance(ta, torch.Tensor) and not isinstance(tb, torch.Tensor):
                continue
            if op in ("maximum",) and not (isinstance(ta, torch.Tensor) and isinstance(tb, torch.Tensor)):
                continue
            try:
                expected = fn(torch, ta, tb)
            except (RuntimeError, TypeError):
                continue  # torch refuses (bool - bool, ...): not a promotion case
            got = fn(cr, ma(cr), mb(cr))
            assert _dtype_name(got) == _dtype_name(expected), f"{op}({na}, {nb})"
            assert tuple(got.shape) == tuple(expected.shape), f"{op}({na}, {nb})"
            np.testing.assert_array_equal(_numpy(got).astype(np.float64),
                                          _numpy(expected).astype(np.float64), err_msg=f"{op}({na}, {nb})")
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("case", [
    "int64*2.5", "int/int", "f32+f64_0dim", "int32+int64", "bool+int", "bool+bool_tensor_int",
    "f32_0dim+int64", "int64_0dim+f32", "uint8+int8", "f16+f32_0dim", "f64_0dim*int32",
])
def test_dtype_promotion_named(case):
    def build(L):
        a64 = L.tensor(np.arange(3, dtype=np.int64))
        return {
            "int64*2.5": lambda: a64 * 2.5,
            "int/int": lambda: a64 / L.tensor(np.array([1, 2, 4], dtype=np.int64)),
            "f32+f64_0dim": lambda: L.tensor(np.ones(3, np.float32)) + L.tensor(np.array(2.0)),
            "int32+int64": lambda: L.tensor(np.ones(3, np.int32)) + a64,
            "bool+int": lambda: L.tensor(np.array([True, False])) + 3,
            "bool+bool_tensor_int": lambda: L.tensor(np.array([True, False])) + L.tensor(np.array([1, 2], np.int32)),
            "f32_0dim+int64": lambda: L.tensor(np.array(1.5, np.float32)) + a64,
            "int64_0dim+f32": lambda: L.tensor(np.array(7)) * L.tensor(np.ones(2, np.float32)),
            "uint8+int8": lambda: L.tensor(np.ones(2, np.uint8)) + L.tensor(np.ones(2, np.int8)),
            "f16+f32_0dim": lambda: L.tensor(np.ones(2, np.float16)) + L.tensor(np.array(1.0, np.float32)),
            "f64_0dim*int32": lambda: L.tensor(np.array(0.5)) * L.tensor(np.ones(2, np.int32)),
        }[case]()
    got, expected = build(cr), build(torch)
    assert_same(got, expected, case)


def test_result_type_and_promote_types():
    for da in _TENSOR_DTYPES:
        for db in _TENSOR_DTYPES:
            ca, ta = getattr(cr, da), getattr(torch, da)
            cb, tb = getattr(cr, db), getattr(torch, db)
            assert str(cr.promote_types(ca, cb)).split(".")[-1] == \
                str(torch.promote_types(ta, tb)).split(".")[-1], (da, db)
            x = np.ones(2, da)
            for s in (True, 3, 2.5):
                assert _dtype_name(cr.tensor(x) + s if da != "bool" or s is not True else cr.tensor(x) | s) \
                    == _dtype_name(torch.tensor(x) + s if da != "bool" or s is not True else torch.tensor(x) | s)
                assert str(cr.result_type(cr.tensor(x), s)).split(".")[-1] == \
                    str(torch.result_type(torch.tensor(x), s)).split(".")[-1], (da, s)


@pytest.mark.parametrize("src,dst", [("float32", "float64"), ("float64", "float32"),
                                     ("float32", "float16"), ("float64", "int64"), ("float32", "bool")])
def test_to_dtype_gradient(src, dst, rng):
    x = randn(rng, 3, 2, dtype=src)
    check(lambda L, x: x.to(getattr(L, dst)), x, tol=TOL["float16"] if dst == "float16" else None)
    check(lambda L, x: x.to(getattr(L, dst)) * 2 if dst.startswith("float") else x.to(getattr(L, dst)), x,
          tol=TOL["float16"] if dst == "float16" else None)
    check(lambda L, x: (x.double() * x.float()).sum(), x)


# ----------------------------------------------------------------------------- comparisons, logic

def test_comparisons(rng):
    a = np.round(randn(rng, 3, 4) * 2)
    b = np.round(randn(rng, 4) * 2)
    ops = [lambda L, a, b: a == b, lambda L, a, b: a != b, lambda L, a, b: a < b,
           lambda L, a, b: a <= b, lambda L, a, b: a > b, lambda L, a, b: a >= b,
           lambda L, a, b: L.eq(a, b), lambda L, a, b: L.ne(a, 1.0), lambda L, a, b: L.lt(a, 0),
           lambda L, a, b: L.le(a, b), lambda L, a, b: L.gt(b, a), lambda L, a, b: L.ge(a, -1),
           lambda L, a, b: a > 0.5, lambda L, a, b: 1 < a, lambda L, a, b: a.long() == b,
           lambda L, a, b: a.greater(b), lambda L, a, b: a.less(0)]
    for fn in ops:
        check(fn, a, b, requires_grad=[True, True])


def test_logic_and_predicates(rng):
    a = rng.random((3, 4)) > 0.5
    b = rng.random((4,)) > 0.5
    i = rng.integers(-5, 5, (3, 4))
    f = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    check(lambda L, a, b: a & b, a, b)
    check(lambda L, a, b: a | b, a, b)
    check(lambda L, a, b: a ^ b, a, b)
    check(lambda L, a, b: ~a, a, b)
    check(lambda L, a, b: L.logical_and(a, b), a, b)
    check(lambda L, a, b: L.logical_or(a, b), a, b)
    check(lambda L, a, b: L.logical_xor(a, b), a, b)
    check(lambda L, a, b: L.logical_not(a), a, b)
    check(lambda L, i: ~i, i)
    check(lambda L, i: L.bitwise_not(i), i)
    check(lambda L, i: i & 3, i)
    check(lambda L, f: [L.isnan(f), L.isinf(f), L.isfinite(f)], f, requires_grad=[True])


# ----------------------------------------------------------------------------- where, clamp

@pytest.mark.parametrize("dtype", FLOATS)
def test_where(dtype, rng):
    c = rng.random((3, 4)) > 0.5
    x = randn(rng, 3, 4, dtype=dtype)
    y = randn(rng, 4, dtype=dtype)
    check(lambda L, c, x, y: L.where(c, x, y), c, x, y, grad_fn="WhereBackward0")
    check(lambda L, c, x, y: L.where(c, x, 0.0), c, x, y)
    check(lambda L, c, x, y: L.where(c, 1.5, y), c, x, y)
    check(lambda L, c, x, y: x.where(c, y), c, x, y)
    check(lambda L, c, x, y: L.where(x > 0, x, x * 2), c, x, y)


def test_where_condition_only_and_promotion(rng):
    c = rng.random((3, 4)) > 0.5
    x = randn(rng, 3, 4, dtype="float32")
    n = rng.integers(0, 5, (3, 4))
    check(lambda L, c, x, n: L.where(c, x, n), c, x, n)  # float32 with int64: float32
    check(lambda L, c, x, n: L.where(c, n, 2), c, x, n)
    check(lambda L, c, x, n: L.where(c, n, 2.5), c, x, n)
    check(lambda L, c, x, n: L.where(c), c, x, n)


@pytest.mark.parametrize("dtype", FLOATS)
def test_clamp(dtype, rng):
    x = randn(rng, 3, 4, dtype=dtype)
    x[0, :2] = [-0.5, 0.5]  # exactly on the bounds: the gradient passes there
    check(lambda L, x: L.clamp(x, -0.5, 0.5), x)
    check(lambda L, x: x.clamp(min=-0.5), x)
    check(lambda L, x: x.clamp(max=0.5), x)
    check(lambda L, x: L.clip(x, -0.3, 0.2), x)
    check(lambda L, x: x.clamp(1.0, -1.0), x)  # min > max: everything is max
    check(lambda L, x: x.clamp(min=-1), x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_clamp_tensor_bounds(dtype, rng):
    x = randn(rng, 3, 4, dtype=dtype)
    lo = randn(rng, 4, dtype=dtype) * 0.5 - 0.5
    hi = randn(rng, 3, 1, dtype=dtype) * 0.5 + 0.5
    check(lambda L, x, lo, hi: L.clamp(x, lo, hi), x, lo, hi)
    check(lambda L, x, lo, hi: x.clamp(min=lo), x, lo, hi)
    check(lambda L, x, lo, hi: x.clamp(max=hi), x, lo, hi)
    check(lambda L, x, lo, hi: x.clamp(lo, hi), x, lo, hi, requires_grad=[True, False, False])


def test_clamp_integer_input():
    x = np.array([-3, -1, 0, 2, 5])
    check(lambda L, x: x.clamp(-1, 2), x)
    check(lambda L, x: x.clamp(min=0.5), x)


# ----------------------------------------------------------------------------- reductions

REDUCTIONS = [
    ("sum", lambda L, x: x.sum(), "SumBackward0"),
    ("sum_dim", lambda L, x: x.sum(1), None),
    ("sum_dims_keep", lambda L, x: x.sum((0, 2), keepdim=True), None),
    ("sum_neg", lambda L, x: L.sum(x, -1), None),
    ("sum_list_dim", lambda L, x: L.sum(x, dim=[2, 0]), None),
    ("mean", lambda L, x: x.mean(), None),
    ("mean_dim", lambda L, x: x.mean(dim=(0, 1)), None),
    ("mean_keep", lambda L, x: L.mean(x, -1, keepdim=True), None),
    ("prod", lambda L, x: x.prod(), "ProdBackward0"),
    ("prod_dim", lambda L, x: x.prod(1), None),
    ("prod_keep", lambda L, x: L.prod(x, 2, keepdim=True), None),
    ("amax", lambda L, x: x.amax(), "AmaxBackward0"),
    ("amax_dim", lambda L, x: x.amax(1), None),
    ("amax_dims_keep", lambda L, x: L.amax(x, (0, 2), keepdim=True), None),
    ("amin", lambda L, x: x.amin(), "AminBackward0"),
    ("amin_dim", lambda L, x: L.amin(x, -1), None),
    ("max", lambda L, x: x.max(), None),
    ("min", lambda L, x: L.min(x), None),
    ("max_dim", lambda L, x: x.max(1), None),
    ("max_dim_keep", lambda L, x: L.max(x, -1, keepdim=True), None),
    ("max_dim_kw", lambda L, x: L.max(x, dim=0).values, None),
    ("min_dim", lambda L, x: x.min(2), None),
    ("min_dim_indices", lambda L, x: x.min(dim=0, keepdim=True).indices, None),
    ("var", lambda L, x: x.var(), None),
    ("var_dim", lambda L, x: x.var(1), None),
    ("var_biased", lambda L, x: x.var(1, unbiased=False), None),
    ("var_unbiased_kw", lambda L, x: L.var(x, dim=(0, 2), unbiased=True, keepdim=True), None),
    ("var_correction0", lambda L, x: x.var(dim=(0, 2), correction=0), None),
    ("var_correction2", lambda L, x: x.var(1, correction=2, keepdim=True), None),
    ("std", lambda L, x: x.std(), None),
    ("std_dim", lambda L, x: L.std(x, 2), None),
    ("std_biased", lambda L, x: x.std(0, unbiased=False, keepdim=True), None),
    ("std_correction0", lambda L, x: x.std(dim=1, correction=0), None),
    ("var_mean", lambda L, x: L.var_mean(x, 1), None),
    ("std_mean", lambda L, x: L.std_mean(x, dim=(0, 2), correction=0), None),
    ("logsumexp", lambda L, x: L.logsumexp(x, 1), "LogsumexpBackward0"),
    ("logsumexp_dims_keep", lambda L, x: x.logsumexp((0, 2), keepdim=True), None),
    ("norm", lambda L, x: x.norm(), "LinalgVectorNormBackward0"),
    ("norm_p1", lambda L, x: x.norm(p=1), None),
    ("norm_p2_dim", lambda L, x: L.norm(x, 2, dim=(1, 2), keepdim=True), None),
    ("norm_inf", lambda L, x: x.norm(p=float("inf")), None),
    ("norm_inf_dim", lambda L, x: x.norm(p=float("inf"), dim=1), None),
    ("norm_-inf", lambda L, x: x.norm(p=-math.inf, dim=0), None),
    ("norm_p3", lambda L, x: x.norm(p=3, dim=1), None),
    ("norm_p1_dim", lambda L, x: L.norm(x, p=1, dim=-1), None),
    ("cumsum", lambda L, x: x.cumsum(1), "CumsumBackward0"),
    ("cumsum_neg", lambda L, x: L.cumsum(x, -1), None),
    ("cumprod", lambda L, x: x.cumprod(1), None),
    ("argmax", lambda L, x: x.argmax(), None),
    ("argmax_dim", lambda L, x: L.argmax(x, 1), None),
    ("argmin_keep", lambda L, x: x.argmin(2, keepdim=True), None),
    ("argmin", lambda L, x: L.argmin(x), None),
    ("all", lambda L, x: (x > -1).all(), None),
    ("all_dim", lambda L, x: L.all(x > -1, 1), None),
    ("any", lambda L, x: (x > 2).any(), None),
    ("any_dim_keep", lambda L, x: L.any(x > 1, dim=0, keepdim=True), None),
    ("count_nonzero", lambda L, x: L.count_nonzero(x > 0, dim=1), None),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,fn,node", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reduction(name, fn, node, dtype, rng):
    x = randn(rng, 3, 4, 5, dtype=dtype)
    check(fn, x, grad_fn=node)


@pytest.mark.parametrize("name", ["amax", "amin", "max", "min", "max_dim", "norm_inf", "norm_inf_dim",
                                  "norm_-inf"])
def test_reduction_ties_share_gradient(name):
    # small integers: many ties; amax/amin/max()/min()/inf-norm split the gradient evenly
    x = np.array([[[1.0, 3.0, 3.0, -3.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0], [0.0, -3.0, 1.0, -3.0, 3.0],
                   [1.0, 1.0, 0.0, 0.0, -1.0]]] * 3)
    fn = dict((r[0], r[1]) for r in REDUCTIONS)[name]
    if name == "max_dim":  # the indices of ties are implementation-defined: compare values only
        fn = lambda L, x: x.max(1).values  # noqa: E731
        x = x + np.arange(5) * 1e-3  # no ties along dim 1
    check(fn, x)


def test_prod_with_zeros():
    x = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    check(lambda L, x: x.prod(1), x)
    check(lambda L, x: x.prod(), x)
    check(lambda L, x: x.prod(0, keepdim=True), x)
    check(lambda L, x: x[0].prod(), x)


def test_norm_at_zero():
    x = np.zeros((2, 3))
    x[1] = [3.0, 4.0, 0.0]
    check(lambda L, x: x.norm(dim=1), x)
    check(lambda L, x: x.norm(p=1, dim=1), x)


def test_logsumexp_and_softmax_large_inputs():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e-3]])
    check(lambda L, x: L.logsumexp(x, 1), x)
    check(lambda L, x: L.softmax(x, 1), x)
    check(lambda L, x: L.log_softmax(x, dim=-1), x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax(dim, dtype, rng):
    x = randn(rng, 3, 4, 5, dtype=dtype, scale=3.0)
    check(lambda L, x: L.softmax(x, dim), x)
    check(lambda L, x: L.log_softmax(x, dim), x)
    check(lambda L, x: x.softmax(dim), x)
    check(lambda L, x: x.log_softmax(dim), x)
    check(lambda L, x: L.softmax(x, dim=dim, dtype=L.float64), x.astype("float32"))


def test_sum_mean_dtypes():
    i = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.array([True, False, True])
    check(lambda L, i: i.sum(), i)
    check(lambda L, i: i.sum(1, keepdim=True), i)
    check(lambda L, b: b.sum(), b)
    check(lambda L, i: i.sum(dtype=L.float64), i)
    check(lambda L, i: i.float().mean(0), i)
    check(lambda L, i: i.mean(dtype=L.float32), i)
    check(lambda L, i: i.cumsum(0), i)
    check(lambda L, i: i.prod(), i)
    check(lambda L, i: [i.max(), i.amin(0), i.argmax(1)], i)
    check(lambda L, i: i.max(1), i)


def test_mean_of_integer_tensor_raises():
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError):
        cr.tensor([1, 2]).mean()


# ----------------------------------------------------------------------------- shape ops

SHAPE_OPS = [
    ("reshape", lambda L, x: x.reshape(4, 6), "ViewBackward0"),
    ("reshape_tuple", lambda L, x: L.reshape(x, (6, -1)), None),
    ("reshape_flat", lambda L, x: x.reshape(-1), None),
    ("view", lambda L, x: x.view(2, -1), "ViewBackward0"),
    ("view_tuple", lambda L, x: x.view((6, 4)), None),
    ("view_as", lambda L, x: x.view_as(x.reshape(4, 6)), None),
    ("flatten", lambda L, x: x.flatten(), None),
    ("flatten_1", lambda L, x: L.flatten(x, 1), None),
    ("flatten_0_1", lambda L, x: x.flatten(0, 1), None),
    ("unflatten", lambda L, x: x.unflatten(2, (2, 2)), None),
    ("unflatten_neg", lambda L, x: L.unflatten(x, 1, (-1, 1)), None),
    ("unsqueeze0", lambda L, x: x.unsqueeze(0), None),
    ("unsqueeze_neg", lambda L, x: L.unsqueeze(x, -1), None),
    ("squeeze", lambda L, x: x.reshape(2, 1, 3, 1, 4).squeeze(), None),
    ("squeeze_dim", lambda L, x: x.reshape(2, 1, 3, 1, 4).squeeze(1), None),
    ("squeeze_noop", lambda L, x: x.squeeze(0), None),
    ("squeeze_dims", lambda L, x: L.squeeze(x.reshape(2, 1, 3, 1, 4), (1, 3)), None),
    ("transpose", lambda L, x: x.transpose(0, 2), None),
    ("transpose_neg", lambda L, x: L.transpose(x, -1, -2), None),
    ("swapaxes", lambda L, x: L.swapaxes(x, 0, 1), None),
    ("permute", lambda L, x: x.permute(2, 0, 1), "PermuteBackward0"),
    ("permute_tuple", lambda L, x: L.permute(x, (1, 2, 0)), None),
    ("movedim", lambda L, x: L.movedim(x, 0, -1), None),
    ("movedim_multi", lambda L, x: x.movedim((0, 1), (2, 0)), None),
    ("T", lambda L, x: x[0].T, None),
    ("mT", lambda L, x: x.mT, None),
    ("t", lambda L, x: x[1].t(), None),
    ("expand", lambda L, x: x[:, :1].expand(2, 3, 4), "ExpandBackward0"),
    ("expand_new_dims", lambda L, x: x[0].expand(5, 3, 4), None),
    ("expand_minus1", lambda L, x: x[:, 2:3].expand(-1, 4, -1), None),
    ("expand_as", lambda L, x: x[:1, :, :1].expand_as(x), None),
    ("broadcast_to", lambda L, x: L.broadcast_to(x[:, :1], (3, 2, 3, 4)), None),
    ("repeat", lambda L, x: x.repeat(2, 1, 3), None),
    ("repeat_new_dims", lambda L, x: x.repeat(2, 1, 1, 2), None),
    ("tile", lambda L, x: L.tile(x, (2,)), None),
    ("flip", lambda L, x: x.flip(0), "FlipBackward0"),
    ("flip_dims", lambda L, x: L.flip(x, (0, 2)), None),
    ("roll", lambda L, x: x.roll(1, 2), "RollBackward0"),
    ("roll_multi", lambda L, x: L.roll(x, (1, -2), (0, 2)), None),
    ("roll_flat", lambda L, x: x.roll(5), None),
    ("narrow", lambda L, x: x.narrow(2, 1, 2), None),
    ("split", lambda L, x: x.split(2, dim=2), None),
    ("split_uneven", lambda L, x: L.split(x, 3, 2), None),
    ("split_sizes", lambda L, x: L.split(x, [1, 3], dim=2), None),
    ("chunk", lambda L, x: x.chunk(3, dim=1), None),
    ("chunk_uneven", lambda L, x: L.chunk(x, 3, 2), None),
    ("unbind", lambda L, x: x.unbind(1), None),
    ("pad", lambda L, x: _F(L).pad(x, (1, 2)), "ConstantPadNdBackward0"),
    ("pad_two_dims", lambda L, x: _F(L).pad(x, (1, 0, 0, 2), value=1.5), None),
    ("pad_crop", lambda L, x: _F(L).pad(x, (-1, 2, 1, -1)), None),
    ("pad_all_dims", lambda L, x: _F(L).pad(x, (1, 1, 1, 1, 1, 1)), None),
    ("clone", lambda L, x: x.clone(), "CloneBackward0"),
    ("contiguous", lambda L, x: x.transpose(0, 1).contiguous(), None),
    ("broadcast_tensors", lambda L, x: L.broadcast_tensors(x, x[0, :1]), None),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,fn,node", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_op(name, fn, node, dtype, rng):
    x = randn(rng, 2, 3, 4, dtype=dtype)
    check(fn, x, grad_fn=node)


@pytest.mark.parametrize("dtype", FLOATS)
def test_join_ops(dtype, rng):
    a = randn(rng, 2, 3, dtype=dtype)
    b = randn(rng, 2, 3, dtype=dtype)
    c = randn(rng, 2, 1, dtype=dtype)
    v = randn(rng, 3, dtype=dtype)
    check(lambda L, a, b, c, v: L.cat([a, b], 0), a, b, c, v, grad_fn="CatBackward0")
    check(lambda L, a, b, c, v: L.cat((a, c, b), dim=1), a, b, c, v)
    check(lambda L, a, b, c, v: L.cat([a, b, a], -1), a, b, c, v)  # a used twice: gradients add
    check(lambda L, a, b, c, v: L.concat([a, b]), a, b, c, v)
    check(lambda L, a, b, c, v: L.stack([a, b]), a, b, c, v)
    check(lambda L, a, b, c, v: L.stack([a, b], dim=2), a, b, c, v)
    check(lambda L, a, b, c, v: L.stack((a, b, a), -1), a, b, c, v)
    check(lambda L, a, b, c, v: L.hstack([a, c]), a, b, c, v)
    check(lambda L, a, b, c, v: L.hstack([v, v]), a, b, c, v)
    check(lambda L, a, b, c, v: L.vstack([a, v, b]), a, b, c, v)
    check(lambda L, a, b, c, v: L.cat([a.flatten(), L.zeros(0, dtype=a.dtype), v]), a, b, c, v)


def test_cat_promotes_dtypes():
    a = np.ones((2, 2), np.float32)
    b = np.ones((1, 2), np.float64)
    i = np.ones((1, 2), np.int64)
    check(lambda L, a, b: L.cat([a, b]), a, b)
    check(lambda L, a, i: L.cat([a, i]), a, i)


def test_split_cat_gradients_partial_use(rng):
    # only some pieces reach the loss: the others get zero gradient
    x = randn(rng, 6, 4)
    check(lambda L, x: x.split(2)[1] * 3, x)
    check(lambda L, x: L.cat([x.chunk(3)[2], x.chunk(3)[0]]), x)


# ----------------------------------------------------------------------------- indexing

def _idx(L, a):
    return L.tensor(np.asarray(a))


INDEXING = [
    ("int", lambda L, x: x[1]),
    ("neg_ints", lambda L, x: x[-1, 2]),
    ("slice", lambda L, x: x[1:3]),
    ("slice_steps", lambda L, x: x[::2, 1:4:2]),
    ("slice_open", lambda L, x: x[:, 3:, :-2]),
    ("slice_out_of_range", lambda L, x: x[2:100, -100:2]),
    ("none", lambda L, x: x[None, 1]),
    ("none_middle", lambda L, x: x[:, None, 2, None]),
    ("ellipsis", lambda L, x: x[..., 2]),
    ("ellipsis_none", lambda L, x: x[1, ..., None]),
    ("ellipsis_middle", lambda L, x: x[0, ..., 1:3]),
    ("all_ints", lambda L, x: x[1, 2, 3]),
    ("list", lambda L, x: x[[0, 2, 2, 0]]),
    ("list_neg", lambda L, x: x[[-1, 0, -1]]),
    ("two_lists", lambda L, x: x[[0, 1], [2, 3]]),
    ("list_second_dim", lambda L, x: x[:, [1, 1, 4]]),
    ("adv_separated", lambda L, x: x[[0, 1, 0], :, [2, 3, 2]]),
    ("adv_broadcast", lambda L, x: x[_idx(L, [[0], [3]]), _idx(L, [1, 1, 2])]),
    ("adv_2d", lambda L, x: x[_idx(L, [[0, 1], [1, 3]])]),
    ("tensor_index", lambda L, x: x[_idx(L, [3, 3, 1])]),
    ("int_and_list", lambda L, x: x[0, [1, 1, 1]]),
    ("slice_and_list", lambda L, x: x[1:3, [4, 0, 4]]),
    ("list_ellipsis", lambda L, x: x[..., [5, 5, 0]]),
    ("zero_dim_tensor", lambda L, x: x[_idx(L, 2)]),
    ("mask_full", lambda L, x: x[x > 0.3]),
    ("mask_2d", lambda L, x: x[_idx(L, np.arange(20).reshape(4, 5) % 3 == 0)]),
    ("mask_inner", lambda L, x: x[:, _idx(L, np.array([True, False, True, True, False]))]),
    ("mask_and_int", lambda L, x: x[_idx(L, np.array([True, False, True, True])), 2]),
    ("mask_all_false", lambda L, x: x[_idx(L, np.zeros(4, bool))]),
    ("nested_indexing", lambda L, x: x[1:][[0, 0]][:, 2]),
    # PyTorch applies integers first, then the advanced indices (NumPy would broadcast them together)
    ("int_then_adv", lambda L, x: x[0, :, [1, 2]]),
    ("slice_int_adv", lambda L, x: x[:, 0, [1, 4, 4]]),
    ("adv_int_adv", lambda L, x: x[[0, 1], 2, [1, 3]]),
    ("adv_slice_int", lambda L, x: x[[3, 0], :, 1]),
    ("zero_dim_tensor_and_list", lambda L, x: x[_idx(L, 1), :, [0, 5]]),
    ("none_adv_none_int", lambda L, x: x[None, [0, 1], None, 1]),
    ("ellipsis_int_adv", lambda L, x: x[..., 0, [1, 2]]),
    ("int_mask", lambda L, x: x[2, :, _idx(L, np.array([True, False, True, True, False, True]))]),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,fn", INDEXING, ids=[i[0] for i in INDEXING])
def test_getitem(name, fn, dtype, rng):
    x = randn(rng, 4, 5, 6, dtype=dtype)
    check(fn, x)


def test_repeated_index_gradients_add():
    x = np.arange(5.0)
    c, t = check(lambda L, x: x[[1, 1, 1, 3]], x)
    # and the expected value by hand: index 1 receives three cotangent entries
    x_c = cr.tensor(x, requires_grad=True)
    x_c[[1, 1, 1, 3]].backward(cr.tensor(np.array([1.0, 2.0, 4.0, 8.0])))
    np.testing.assert_array_equal(x_c.grad.numpy(), [0.0, 7.0, 0.0, 8.0, 0.0])


def test_getitem_used_twice(rng):
    x = randn(rng, 4, 3)
    check(lambda L, x: x[0] * x[1] + x[0], x)
    check(lambda L, x: L.stack([x[i] for i in (3, 0, 3)]), x)


SETITEM = [
    ("int", lambda L, y, v: y.__setitem__(1, v[0, 0])),
    ("slice", lambda L, y, v: y.__setitem__((slice(1, 3), 0), v[:2, 0] * 2)),
    ("broadcast_value", lambda L, y, v: y.__setitem__((Ellipsis, 1), v[0, 0, :1])),
    ("advanced", lambda L, y, v: y.__setitem__((slice(None), [0, 2]), v[:4, :2])),
    ("mask", lambda L, y, v: y.__setitem__(y > 0.5, 0.0)),
    ("mask_tensor_value", lambda L, y, v: y.__setitem__(y < 0, v[0, 0, 0])),
    ("scalar", lambda L, y, v: y.__setitem__((0, 1), 3.0)),
    ("zero_dim_value", lambda L, y, v: y.__setitem__(slice(1, 3), v.sum())),
    ("twice", lambda L, y, v: (y.__setitem__(0, v[1, 1]), y.__setitem__((0, 0), v[2, 2, 2]))),
    ("int_and_advanced", lambda L, y, v: y.__setitem__((0, slice(None), [1, 2]), v[0, :, :2])),
    ("int_and_advanced_broadcast", lambda L, y, v: y.__setitem__((slice(None), 3, [0, 5]), v[0, 0, :2])),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,assign", SETITEM, ids=[s[0] for s in SETITEM])
def test_setitem(name, assign, dtype, rng):
    x = randn(rng, 4, 5, 6, dtype=dtype)
    v = randn(rng, 4, 5, 6, dtype=dtype)

    def fn(L, x, v):
        y = x * 1.5  # a non-leaf: in-place writes are recorded
        assign(L, y, v)
        return y * y

    check(fn, x, v)


def test_setitem_into_plain_tensor(rng):
    v = randn(rng, 3)

    def fn(L, v):
        z = L.zeros(4, 3, dtype=v.dtype)
        z[1] = v
        z[3, 1:] = v[:2] * 2
        return z

    check(fn, v)


def test_setitem_integer_tensor():
    x = np.arange(12).reshape(3, 4)

    def fn(L, x):
        y = x.clone()
        y[1] = 7
        y[:, [0, 3]] = L.tensor([[-1, -2]])
        y[y > 8] = 0
        return y

    check(fn, x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gather_scatter_family(dtype, rng):
    x = randn(rng, 3, 4, dtype=dtype)
    src = randn(rng, 3, 5, dtype=dtype)
    idx1 = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])  # dim=1, with duplicates
    idx0 = np.array([[0, 2, 2, 1], [1, 1, 0, 0]])      # dim=0
    check(lambda L, x: L.gather(x, 1, _idx(L, idx1)), x, grad_fn="GatherBackward0")
    check(lambda L, x: x.gather(0, _idx(L, idx0)), x)
    check(lambda L, x: L.take_along_dim(x, _idx(L, idx1), 1), x)
    # (torch's own backward fails when src is larger than index, so src is cut to index's shape)
    check(lambda L, x, s: L.scatter_add(x, 1, _idx(L, idx1), s[:, :3]), x, src)
    check(lambda L, x, s: x.scatter_add(0, _idx(L, idx0), s[:2, :4]), x, src)
    idx_unique = np.array([[2, 0], [1, 3], [0, 1]])
    check(lambda L, x, s: L.scatter(x, 1, _idx(L, idx_unique), s[:, :2]), x, src)
    check(lambda L, x: x.scatter(1, _idx(L, idx_unique), 2.5) if L is torch else
          L.scatter(x, 1, _idx(L, idx_unique), value=2.5), x)
    check(lambda L, x: L.index_select(x, 1, _idx(L, [3, 0, 3])), x)
    check(lambda L, x: x.index_select(0, _idx(L, [2, 2])), x)
    m = rng.random((3, 4)) > 0.5
    check(lambda L, x, m: L.masked_fill(x, m, -1.5), x, m)
    check(lambda L, x, m: x.masked_fill(m[0], 0.0), x, m)
    check(lambda L, x, m, v: x.masked_fill(m, v), x, m, np.array(2.0, dtype=dtype))
    check(lambda L, x, m: L.masked_select(x, m), x, m)
    check(lambda L, x, m: x.masked_select(m[1]), x, m)
    check(lambda L, x: L.nonzero(x > 0), x)
    check(lambda L, x: L.nonzero(x > 0, as_tuple=True), x)
    check(lambda L, x: L.where(x > 0), x)


def test_masked_fill_integer_tensor():
    x = np.arange(6).reshape(2, 3)
    m = x % 2 == 0
    check(lambda L, x, m: x.masked_fill(m, -1), x, m)


# ----------------------------------------------------------------------------- linear algebra

MATMUL_SHAPES = [
    ((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 5)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 6)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,)),
    ((1, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)), ((2, 2, 3, 4), (4,)), ((4,), (3, 2, 4, 1)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul(sa, sb, dtype, rng):
    a = randn(rng, *sa, dtype=dtype)
    b = randn(rng, *sb, dtype=dtype)
    check(lambda L, a, b: a @ b, a, b)
    check(lambda L, a, b: L.matmul(a, b), a, b)


@pytest.mark.parametrize("dtype", FLOATS)
def test_mm_bmm_dot_outer(dtype, rng):
    A = randn(rng, 3, 4, dtype=dtype)
    B = randn(rng, 4, 5, dtype=dtype)
    check(lambda L, A, B: L.mm(A, B), A, B, grad_fn="MmBackward0")
    check(lambda L, A, B: A.mm(B), A, B)
    P = randn(rng, 2, 3, 4, dtype=dtype)
    Q = randn(rng, 2, 4, 5, dtype=dtype)
    check(lambda L, P, Q: L.bmm(P, Q), P, Q)
    u = randn(rng, 4, dtype=dtype)
    w = randn(rng, 4, dtype=dtype)
    check(lambda L, u, w: L.dot(u, w), u, w)
    check(lambda L, u, w: u.dot(w), u, w)
    check(lambda L, u, w: L.vdot(u, w), u, w)
    check(lambda L, u, w: L.inner(u, w), u, w)
    check(lambda L, u, w: L.outer(u, w), u, w)
    check(lambda L, u, w: u.outer(w * 2), u, w)
    check(lambda L, A, u: L.mv(A, u), A, u)
    check(lambda L, A, B: L.inner(A, B.T), A, B)


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(4,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("bij->j", [(2, 3, 4)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,jk", [(2, 2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ik,k->i", [(3, 4), (4,)]),
    ("ij,kj->ikj", [(3, 4), (2, 4)]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e[0].replace(" ", "_") for e in EINSUM])
def test_einsum(eq, shapes, dtype, rng):
    arrays = [randn(rng, *s, dtype=dtype) for s in shapes]
    check(lambda L, *ops: L.einsum(eq, *ops), *arrays)


def test_einsum_list_operands(rng):
    a, b = randn(rng, 3, 4), randn(rng, 4, 2)
    check(lambda L, a, b: L.einsum("ij,jk->ik", [a, b]), a, b)


# ----------------------------------------------------------------------------- creation

def test_creation_matches_torch():
    cases = [
        lambda L: L.zeros(2, 3), lambda L: L.ones((2, 3), dtype=L.float64), lambda L: L.full((2,), 1.5),
        lambda L: L.full((2,), 3), lambda L: L.full((2,), True), lambda L: L.arange(5),
        lambda L: L.arange(1, 4), lambda L: L.arange(0, 1, 0.1), lambda L: L.arange(5.0),
        lambda L: L.arange(10, 0, -3), lambda L: L.linspace(0, 1, 7), lambda L: L.logspace(0, 2, 5),
        lambda L: L.eye(3), lambda L: L.eye(2, 4, dtype=L.int64), lambda L: L.tensor([1, 2]),
        lambda L: L.tensor([1.0, 2]), lambda L: L.tensor([[True], [False]]), lambda L: L.tensor(3.5),
        lambda L: L.zeros_like(L.ones(2, dtype=L.int32)), lambda L: L.ones_like(L.zeros(3, 1)),
        lambda L: L.full_like(L.zeros(2, 2), 7), lambda L: L.as_tensor([1, 2]),
        lambda L: L.tensor(np.array([1.0, 2.0], np.float32)).new_zeros(3),
        lambda L: L.tensor([1.0]).new_full((2,), 4), lambda L: L.tensor([1]).new_ones(2, 2),
        lambda L: L.tril(L.ones(3, 4)), lambda L: L.triu(L.ones(4, 3), 1),
        lambda L: L.diag(L.tensor([1.0, 2.0])), lambda L: L.zeros(0, 3), lambda L: L.empty(2, 3).shape,
    ]
    for i, fn in enumerate(cases):
        c, t = fn(cr), fn(torch)
        if isinstance(t, torch.Size):
            assert tuple(c) == tuple(t), i
        else:
            assert_same(c, t, f"case {i}")
            assert c.requires_grad is False


@pytest.mark.parametrize("dtype", FLOATS)
def test_triangular_and_diagonal(dtype, rng):
    x = randn(rng, 4, 5, dtype=dtype)
    v = randn(rng, 3, dtype=dtype)
    check(lambda L, x: L.tril(x), x)
    check(lambda L, x: x.triu(-1), x)
    check(lambda L, x: L.triu(x, 2), x)
    check(lambda L, x: L.diagonal(x), x)
    check(lambda L, x: x.diagonal(1), x)
    check(lambda L, x: L.diagonal(x, -2), x)
    check(lambda L, x: L.diag(x), x)
    check(lambda L, v: L.diag(v), v)
    check(lambda L, v: L.diag(v, 1), v)


def test_random_creation_shapes_and_dtypes():
    cr.manual_seed(0)
    for fn in [lambda L: L.rand(2, 3), lambda L: L.randn(4), lambda L: L.randint(0, 5, (3,)),
               lambda L: L.randperm(6), lambda L: L.rand_like(L.zeros(2, dtype=L.float64)),
               lambda L: L.randn_like(L.zeros(2, 2)), lambda L: L.randint_like(L.zeros(3), 4)]:
        c, t = fn(cr), fn(torch)
        assert _dtype_name(c) == _dtype_name(t)
        assert tuple(c.shape) == tuple(t.shape)
    assert sorted(cr.randperm(6).tolist()) == list(range(6))


# ----------------------------------------------------------------------------- in-place on non-leaves

INPLACE = [
    ("add_", lambda L, y, z: y.add_(z), "AddBackward0"),
    ("add_scalar", lambda L, y, z: y.add_(2.0), "AddBackward0"),
    ("add_alpha", lambda L, y, z: y.add_(z, alpha=-2), None),
    ("sub_", lambda L, y, z: y.sub_(z), "SubBackward0"),
    ("mul_", lambda L, y, z: y.mul_(z), "MulBackward0"),
    ("mul_scalar", lambda L, y, z: y.mul_(3), "MulBackward0"),
    ("div_", lambda L, y, z: y.div_(z * z + 1), "DivBackward0"),
    ("clamp_", lambda L, y, z: y.clamp_(-0.5, 0.5), None),
    ("clamp_min", lambda L, y, z: y.clamp_(min=0.0), None),
    ("copy_", lambda L, y, z: y.copy_(z), None),
    ("copy_broadcast", lambda L, y, z: y.copy_(z[0]), None),
    ("zero_", lambda L, y, z: y.zero_(), None),
    ("fill_", lambda L, y, z: y.fill_(2.5), None),
    ("fill_tensor", lambda L, y, z: y.fill_(z[0, 0]), None),
    ("pow_", lambda L, y, z: y.pow_(2), None),
    ("exp_", lambda L, y, z: y.exp_(), "ExpBackward0"),
    ("neg_", lambda L, y, z: y.neg_(), "NegBackward0"),
    ("sigmoid_", lambda L, y, z: y.sigmoid_(), "SigmoidBackward0"),
    ("masked_fill_", lambda L, y, z: y.masked_fill_(z > 0, 1.0), None),
    ("iadd", lambda L, y, z: y.__iadd__(z), "AddBackward0"),
    ("isub", lambda L, y, z: y.__isub__(2.0), "SubBackward0"),
    ("imul", lambda L, y, z: y.__imul__(z), "MulBackward0"),
    ("itruediv", lambda L, y, z: y.__itruediv__(4.0), "DivBackward0"),
    ("chain", lambda L, y, z: y.mul_(2).add_(z).clamp_(max=1.0).sub_(z.exp()), None),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,op,node", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_on_non_leaf(name, op, node, dtype, rng):
    x = randn(rng, 3, 4, dtype=dtype)
    z = randn(rng, 3, 4, dtype=dtype)

    def fn(L, x, z):
        y = x * 1.5 + 0.25  # non-leaf
        before = y._version
        r = op(L, y, z)
        assert r is y  # in-place ops return the tensor itself
        assert y._version > before
        return y

    check(fn, x, z, grad_fn=node)


def test_inplace_keeps_earlier_uses_correct(rng):
    # an op that used y before the in-place change and does not save y is unaffected
    x = randn(rng, 3)

    def fn(L, x):
        y = x * 2
        s = y + 1  # add saves nothing
        y.mul_(3)
        return s + y

    check(fn, x)


def test_inplace_on_saved_tensor_raises_in_both():
    for L in (cr, torch):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        z = y * y  # saves y
        y.add_(1)
        with pytest.raises(RuntimeError):
            z.sum().backward()


def test_inplace_on_leaf_raises_in_both():
    for L in (cr, torch):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError):
            x.add_(1)
        with L.no_grad():
            x.add_(1)
        assert x.tolist() == [2.0, 3.0]


def test_inplace_integer_tensor_keeps_dtype():
    x = np.arange(6).reshape(2, 3)

    def fn(L, x):
        y = x.clone()
        y.add_(2)
        y.mul_(3)
        y.sub_(1)
        y[0].zero_()  # a view of a tensor that needs no grad: allowed in both
        return y

    check(fn, x)


# ----------------------------------------------------------------------------- 0-dim and empty tensors

ZERO_DIM = [
    lambda L, x: x.sum(), lambda L, x: x.sum(0), lambda L, x: x.mean(-1), lambda L, x: x.prod(0),
    lambda L, x: x.max(0), lambda L, x: x.min(dim=0, keepdim=True), lambda L, x: x.amax(0),
    lambda L, x: x.cumsum(0), lambda L, x: L.softmax(x, 0), lambda L, x: L.log_softmax(x, 0),
    lambda L, x: x.argmax(0), lambda L, x: x.argmin(), lambda L, x: x.norm(),
    lambda L, x: L.logsumexp(x, 0), lambda L, x: x.flatten(), lambda L, x: x.unsqueeze(0),
    lambda L, x: x.reshape(1, 1), lambda L, x: x[None], lambda L, x: x[...] * 2,
    lambda L, x: x.expand(3), lambda L, x: x.expand(2, 2) * x, lambda L, x: x.repeat(3),
    lambda L, x: x * L.ones(2, 3, dtype=x.dtype), lambda L, x: L.stack([x, x * 2]),
    lambda L, x: x.squeeze(), lambda L, x: x.view(-1), lambda L, x: x.var(correction=0),
]


@pytest.mark.parametrize("k", range(len(ZERO_DIM)))
def test_zero_dim_tensors(k):
    check(ZERO_DIM[k], np.array(1.25))


EMPTY = [
    lambda L, x: x.sum(0), lambda L, x: x.sum(), lambda L, x: x.mean(0), lambda L, x: x.prod(0),
    lambda L, x: x.amax(1), lambda L, x: L.logsumexp(x, 0), lambda L, x: x.norm(dim=0),
    lambda L, x: x.cumsum(0), lambda L, x: L.softmax(x, 1), lambda L, x: x.reshape(3, 0),
    lambda L, x: x.T, lambda L, x: L.cat([x, x]), lambda L, x: L.cat([x, L.ones(2, 3, dtype=x.dtype)]),
    lambda L, x: x @ L.ones(3, 2, dtype=x.dtype), lambda L, x: L.ones(2, 0, dtype=x.dtype) @ x,
    lambda L, x: x[x > 0], lambda L, x: x.flip(0), lambda L, x: x * 2 + 1, lambda L, x: x.max(1),
]


@pytest.mark.parametrize("k", range(len(EMPTY)))
def test_empty_tensors(k):
    check(EMPTY[k], np.zeros((0, 3)))


def test_reduction_over_empty_dim_raises_in_both():
    for L in (cr, torch):
        x = L.zeros(0, 3)
        with pytest.raises((RuntimeError, IndexError)):
            x.amax(0)
        with pytest.raises((RuntimeError, IndexError)):
            x.max(0)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_matmul(dtype, rng):
    a = rng.integers(-5, 5, (2, 3, 4)).astype(dtype)
    b = rng.integers(-5, 5, (4, 2)).astype(dtype)
    check(lambda L, a, b: a @ b, a, b)
    if dtype == "int64":  # torch's einsum refuses int32
        check(lambda L, a, b: L.einsum("bij,jk->bk", a, b), a, b)


def test_sum_to_matches_sum_to_size(rng):
    x = randn(rng, 2, 3, 4)
    check(lambda L, x: x.sum_to_size(3, 1) if L is torch else L.ops.sum_to(x, (3, 1)), x)
    check(lambda L, x: x.sum_to_size(1, 3, 4) if L is torch else L.ops.sum_to(x, (1, 3, 4)), x)


def test_check_detects_mismatches():
    """The harness itself can fail: wrong values, dtypes, shapes and gradients are caught."""
    x = np.array([1.0, 2.0, 3.0])
    bad = [
        lambda L, x: x * (2 if L is cr else 3),                           # value
        lambda L, x: x.float() if L is cr else x,                         # dtype
        lambda L, x: x.reshape(3, 1) if L is cr else x,                   # shape
        lambda L, x: x * x if L is torch else x * x.detach(),             # gradient
        lambda L, x: x.detach() if L is cr else x,                        # requires_grad
    ]
    for fn in bad:
        with pytest.raises(AssertionError):
            check(fn, x)
    with pytest.raises(AssertionError):
        check(lambda L, x: x, x, grad_fn="MulBackward0")


# ----------------------------------------------------------------------------- assorted edge cases

def test_indexing_edge_cases(rng):
    x = randn(rng, 4, 5, 6)
    check(lambda L, x: x[[True, False, True, True]], x)        # a list of bools is a mask
    check(lambda L, x: x[1, [0, 2], 1:3], x)
    check(lambda L, x: x[L.tensor(np.array([2, 0, 2], np.int32))], x)  # int32 indices
    check(lambda L, x: x[:, L.tensor(np.array([[1], [3]])), L.tensor(np.array([0, 5]))], x)
    check(lambda L, x: x[..., None, [0, 0]], x)
    check(lambda L, x: x[1][2][3], x)


def test_masking_with_infinities():
    x = np.array([[0.5, -np.inf, 1.0, 2.0], [-np.inf, 3.0, -1.0, -np.inf]])
    check(lambda L, x: L.softmax(x, -1), x)
    check(lambda L, x: L.log_softmax(x, 1), x)
    check(lambda L, x: L.logsumexp(x, 1), x)
    check(lambda L, x: L.softmax(x.masked_fill(x < 0, -math.inf), -1), x)


def test_pow_negative_base(rng):
    x = randn(rng, 3, 4)
    check(lambda L, x: x ** 3, x)
    check(lambda L, x: x ** 2, x)
    check(lambda L, x: x.pow(4.0), x)
    check(lambda L, x: x ** L.tensor(3.0), x)  # tensor exponent: d/dp is nan where x < 0, in both


def test_more_shape_and_reduction_variants(rng):
    x = randn(rng, 3, 4, 5)
    check(lambda L, x: x.roll(-7, 1), x)
    check(lambda L, x: x.flip(-1), x)
    check(lambda L, x: x.sum(dim=()), x)
    check(lambda L, x: x.norm(p=0, dim=1), x)
    check(lambda L, x: x.cumsum(2, dtype=L.float32), x, tol=TOL["float32"])  # float32 inside
    check(lambda L, x: x.mean(dim=[-1, 0], keepdim=True), x)
    check(lambda L, x: x.unflatten(-1, (1, -1)), x)
    check(lambda L, x: L.movedim(x, -1, 0), x)


def test_einsum_diagonal_forward_and_gradient():
    a = np.arange(9.0).reshape(3, 3)
    check(lambda L, a: L.einsum("ii->i", a), a)
    check(lambda L, a: L.einsum("ii", a), a)
    b = np.arange(24.0).reshape(2, 3, 4) / 10
    check(lambda L, b: L.einsum("iji->j", b[:, :2, :2]), b)
