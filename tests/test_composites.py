"""Every public operation is accounted for:

- a thin wrapper of one primitive (checked by tests/test_registry.py),
- a composite of primitives, gradient-checked here against finite differences (float64),
- or explicitly non-differentiable (comparisons, indices, random numbers, factories).

``test_every_public_op_is_classified`` fails when an operation is added to
``chainrule.ops.__all__`` without being put in one of these groups.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops

from _gradcheck import finite_difference

# function name -> the primitive it applies (after dtype promotion / argument checks)
PRIMITIVE_WRAPPERS = {
    "abs": "abs", "add": "add", "sub": "sub", "mul": "mul", "div": "div", "true_divide": "div",
    "pow": "pow", "maximum": "maximum", "minimum": "minimum", "remainder": "remainder",
    "neg": "neg", "negative": "neg", "exp": "exp", "exp2": "exp2", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "expm1": "expm1", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu",
    "sign": "sign", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "round": "round",
    "erf": "erf", "clone": "clone", "where": "where", "sum": "sum", "prod": "prod", "amax": "amax",
    "amin": "amin", "logsumexp": "logsumexp", "cumsum": "cumsum", "reshape": "reshape",
    "view": "reshape", "permute": "permute", "expand": "expand", "broadcast_to": "expand",
    "cat": "cat", "concat": "cat", "concatenate": "cat", "flip": "flip", "roll": "roll",
    "pad": "pad", "gather": "gather", "scatter_add": "scatter_add", "index_put": "index_put",
    "matmul": "matmul", "einsum": "einsum",
}

NON_DIFFERENTIABLE = {
    # comparisons and logic give bool tensors
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_not", "isnan", "isinf", "isfinite", "all", "any", "count_nonzero",
    # integer results
    "argmax", "argmin", "nonzero", "floor_divide",
    # factories and random numbers
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "arange",
    "linspace", "logspace", "eye", "zeros_like", "ones_like", "full_like", "empty_like", "rand",
    "randn", "randint", "randperm", "normal", "rand_like", "randn_like", "randint_like",
    "bernoulli", "multinomial", "manual_seed", "seed", "initial_seed", "get_rng_state",
    "set_rng_state", "Generator", "default_generator",
}


def _r(rng, *shape, kind="n"):
    if kind == "p":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "distinct":
        return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5
                + rng.uniform(0, 0.1, shape))
    return rng.standard_normal(shape)


# name -> list of (function of chainrule tensors, input-maker(rng) -> list of float64 arrays)
COMPOSITES = {
    "mean": [(lambda x: cr.mean(x), lambda r: [_r(r, 3, 4)]),
             (lambda x: x.mean((0, 2), keepdim=True), lambda r: [_r(r, 2, 3, 4)])],
    "var": [(lambda x: cr.var(x, 1), lambda r: [_r(r, 3, 4)]),
            (lambda x: x.var(correction=0), lambda r: [_r(r, 5)])],
    "std": [(lambda x: cr.std(x, 0, keepdim=True), lambda r: [_r(r, 4, 3)])],
    "var_mean": [(lambda x: sum(cr.var_mean(x, 1)).sum(), lambda r: [_r(r, 3, 4)])],
    "std_mean": [(lambda x: sum(cr.std_mean(x, 1)).sum(), lambda r: [_r(r, 3, 4)])],
    "softmax": [(lambda x: cr.softmax(x, -1), lambda r: [_r(r, 3, 5)])],
    "log_softmax": [(lambda x: cr.log_softmax(x, 1), lambda r: [_r(r, 3, 5)])],
    "max": [(lambda x: cr.max(x, 1).values, lambda r: [_r(r, 3, 4, kind="distinct")]),
            (lambda x: cr.max(x), lambda r: [_r(r, 3, 4, kind="distinct")])],
    "min": [(lambda x: cr.min(x, 0, keepdim=True)[0], lambda r: [_r(r, 3, 4, kind="distinct")])],
    "norm": [(lambda x: cr.norm(x), lambda r: [_r(r, 3, 4)]),
             (lambda x: cr.norm(x, 1, dim=1), lambda r: [_r(r, 3, 4)]),
             (lambda x: cr.norm(x, 3, dim=0), lambda r: [_r(r, 3, 4)]),
             (lambda x: cr.norm(x, float("inf")), lambda r: [_r(r, 3, 4, kind="distinct")])],
    "cumprod": [(lambda x: cr.cumprod(x, 1), lambda r: [_r(r, 2, 4)])],
    "square": [(lambda x: cr.square(x), lambda r: [_r(r, 4)])],
    "reciprocal": [(lambda x: cr.reciprocal(x), lambda r: [_r(r, 4, kind="p")])],
    "clamp": [(lambda x, lo, hi: cr.clamp(x, lo, hi), lambda r: [_r(r, 6), _r(r, 6) - 1.5, _r(r, 6) + 1.5])],
    "clip": [(lambda x: cr.clip(x, -0.5, 0.5), lambda r: [_r(r, 6)])],
    "lerp": [(lambda a, b, w: cr.lerp(a, b, w), lambda r: [_r(r, 4), _r(r, 4), _r(r, 4)])],
    "flatten": [(lambda x: cr.flatten(x, 1), lambda r: [_r(r, 2, 3, 4)])],
    "unflatten": [(lambda x: cr.unflatten(x, 1, (2, 2)), lambda r: [_r(r, 3, 4)])],
    "squeeze": [(lambda x: cr.squeeze(x), lambda r: [_r(r, 3, 1, 2)])],
    "unsqueeze": [(lambda x: cr.unsqueeze(x, -1), lambda r: [_r(r, 3, 2)])],
    "transpose": [(lambda x: cr.transpose(x, 0, 2), lambda r: [_r(r, 2, 3, 4)])],
    "swapaxes": [(lambda x: cr.swapaxes(x, 0, 1), lambda r: [_r(r, 2, 3)])],
    "t": [(lambda x: cr.t(x), lambda r: [_r(r, 2, 3)])],
    "movedim": [(lambda x: cr.movedim(x, 0, -1), lambda r: [_r(r, 2, 3, 4)])],
    "expand_as": [(lambda x, y: cr.expand_as(x, y), lambda r: [_r(r, 3, 1), _r(r, 3, 4)])],
    "broadcast_tensors": [(lambda x, y: sum(cr.broadcast_tensors(x, y)), lambda r: [_r(r, 3, 1), _r(r, 4)])],
    "repeat": [(lambda x: cr.repeat(x, 2, 1, 3), lambda r: [_r(r, 2, 3)])],
    "tile": [(lambda x: cr.tile(x, (2,)), lambda r: [_r(r, 2, 3)])],
    "stack": [(lambda a, b: cr.stack([a, b], 1), lambda r: [_r(r, 2, 3), _r(r, 2, 3)])],
    "hstack": [(lambda a, b: cr.hstack([a, b]), lambda r: [_r(r, 2, 3), _r(r, 2, 1)])],
    "vstack": [(lambda a, b: cr.vstack([a, b]), lambda r: [_r(r, 3), _r(r, 2, 3)])],
    "split": [(lambda x: cr.split(x, 2, 1)[1] * 2 + cr.split(x, [1, 3], 1)[0].sum(), lambda r: [_r(r, 3, 4)])],
    "chunk": [(lambda x: cr.chunk(x, 3, 0)[2], lambda r: [_r(r, 5, 2)])],
    "unbind": [(lambda x: cr.unbind(x, 1)[0] * cr.unbind(x, 1)[2], lambda r: [_r(r, 2, 3)])],
    "narrow": [(lambda x: cr.narrow(x, 1, 1, 2), lambda r: [_r(r, 3, 4)])],
    "index_select": [(lambda x: cr.index_select(x, 1, cr.tensor([2, 0, 2])), lambda r: [_r(r, 3, 4)])],
    "masked_fill": [(lambda x: cr.masked_fill(x, cr.tensor([[True, False], [False, True]]), 2.0),
                     lambda r: [_r(r, 2, 2)])],
    "masked_select": [(lambda x: cr.masked_select(x, cr.tensor([True, False, True])), lambda r: [_r(r, 2, 3)])],
    "scatter": [(lambda x, s: cr.scatter(x, 1, cr.tensor([[1, 0]]), s), lambda r: [_r(r, 1, 3), _r(r, 1, 2)])],
    "take_along_dim": [(lambda x: cr.take_along_dim(x, cr.tensor([[0], [2]]), 1), lambda r: [_r(r, 2, 3)])],
    "mm": [(lambda a, b: cr.mm(a, b), lambda r: [_r(r, 2, 3), _r(r, 3, 4)])],
    "bmm": [(lambda a, b: cr.bmm(a, b), lambda r: [_r(r, 2, 2, 3), _r(r, 2, 3, 2)])],
    "mv": [(lambda a, b: cr.mv(a, b), lambda r: [_r(r, 2, 3), _r(r, 3)])],
    "dot": [(lambda a, b: cr.dot(a, b), lambda r: [_r(r, 3), _r(r, 3)])],
    "vdot": [(lambda a, b: cr.vdot(a, b), lambda r: [_r(r, 3), _r(r, 3)])],
    "inner": [(lambda a, b: cr.inner(a, b), lambda r: [_r(r, 2, 3), _r(r, 4, 3)])],
    "outer": [(lambda a, b: cr.outer(a, b), lambda r: [_r(r, 3), _r(r, 2)])],
    "ger": [(lambda a, b: cr.ger(a, b), lambda r: [_r(r, 3), _r(r, 2)])],
    "tril": [(lambda x: cr.tril(x), lambda r: [_r(r, 3, 3)])],
    "triu": [(lambda x: cr.triu(x, 1), lambda r: [_r(r, 3, 4)])],
    "diagonal": [(lambda x: cr.diagonal(x, 1), lambda r: [_r(r, 3, 4)])],
    "diag": [(lambda x: cr.diag(x), lambda r: [_r(r, 3)]), (lambda x: cr.diag(x), lambda r: [_r(r, 3, 3)])],
}


def _load_extensions() -> None:
    """Op families kept in files of their own (tests/composites_*.py) add to the three groups:
    each may define PRIMITIVE_WRAPPERS (dict), NON_DIFFERENTIABLE (set) and
    composites(_r) -> {name: [(fn, make_inputs), ...]}."""
    import importlib
    from pathlib import Path
    for path in sorted(Path(__file__).parent.glob("composites_*.py")):
        mod = importlib.import_module(path.stem)
        PRIMITIVE_WRAPPERS.update(getattr(mod, "PRIMITIVE_WRAPPERS", {}))
        NON_DIFFERENTIABLE.update(getattr(mod, "NON_DIFFERENTIABLE", set()))
        if hasattr(mod, "composites"):
            COMPOSITES.update(mod.composites(_r))


_load_extensions()

CASES = [(name, i, fn, make) for name, cases in sorted(COMPOSITES.items())
         for i, (fn, make) in enumerate(cases)]


def test_every_public_op_is_classified():
    groups = [set(PRIMITIVE_WRAPPERS), set(COMPOSITES), NON_DIFFERENTIABLE]
    public = set(ops.__all__)
    unclassified = sorted(public - set().union(*groups))
    assert not unclassified, f"public ops in no group (add a gradient check or mark them): {unclassified}"
    stale = sorted(set().union(*groups) - public)
    assert not stale, f"classified names that are not public ops: {stale}"
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert not groups[a] & groups[b], f"names in two groups: {groups[a] & groups[b]}"


def test_wrappers_name_real_primitives():
    missing = sorted(p for p in PRIMITIVE_WRAPPERS.values() if p not in ops.REGISTRY)
    assert not missing, missing


@pytest.mark.parametrize("name,i,fn,make", CASES, ids=[f"{n}-{i}" for n, i, _, _ in CASES])
def test_composite_gradient_matches_finite_differences(name, i, fn, make):
    rng = np.random.default_rng(abs(hash((name, i))) % 2 ** 32)
    arrays = [np.asarray(a, dtype=np.float64) for a in make(rng)]
    tensors = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    u = rng.standard_normal(tuple(out.shape))
    grads = cr.autograd.grad(out, tensors, grad_outputs=cr.tensor(u), allow_unused=True)

    def scalar():
        with cr.no_grad():
            return float(np.sum(u * fn(*[cr.tensor(a) for a in arrays]).numpy()))
    for k, g in enumerate(grads):
        want = finite_difference(scalar, arrays[k])
        got = np.zeros_like(arrays[k]) if g is None else g.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name}: input {k}")
