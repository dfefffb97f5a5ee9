"""Every primitive in the registry, checked the same way:

- its vjp against central finite differences (float64) of <u, f(x)>;
- its jvp against central finite differences of f along a random direction, and against
  the vjp through the identity <jvp(v), u> = <v, vjp(u)>;
- its second derivative (backward with create_graph=True, then backward again) against
  finite differences of the vjp, for primitives whose second derivative is not zero;
- its forward value and vjp against PyTorch (float32 and float64) when torch is installed.

A primitive that is in the registry but has no cases here fails ``test_every_primitive_has_cases``.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.primitive import NP, REGISTRY, apply, output_tangent

from _gradcheck import finite_difference


# ----------------------------------------------------------------------------- input specs

def _make(spec, rng, dtype):
    """Build one argument from its spec: (kind, shape) -> array, anything else -> as is."""
    if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str)):
        return spec
    kind, shape = spec
    if kind == "n":  # normal
        a = rng.standard_normal(shape)
    elif kind == "p":  # positive, away from 0
        a = rng.uniform(0.5, 2.0, shape)
    elif kind == "a":  # away from 0, either sign
        a = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind == "u":  # inside (-1, 1), for tan
        a = rng.uniform(-0.9, 0.9, shape)
    elif kind == "frac":  # away from integers and halves (floor, round, ...)
        a = rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)
    elif kind == "rem_a":
        a = rng.uniform(2.2, 2.4, shape)
    elif kind == "rem_b":
        a = rng.uniform(0.95, 1.05, shape)
    elif kind == "distinct":  # well separated values, for max/min/sort-like kinks
        a = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 + rng.uniform(0, 0.1, shape)
    elif kind == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    else:
        raise ValueError(kind)
    return np.asarray(a, dtype=dtype)


class Case:
    def __init__(self, args, params=None, diff=None, torch_fn=None, name=""):
        self.args = args
        self.params = params or {}
        # positions of the differentiable array arguments (default: every float array)
        self.diff = diff
        self.torch_fn = torch_fn
        self.name = name


def _idx(*index):
    return tuple(index)


I = np.array  # noqa: E741  (short for integer index arrays in the tables)

# name -> list of Cases. torch_fn(torch, *args) mirrors the primitive in PyTorch.
UNARY = {
    "neg": ("n", lambda t, x: -x), "exp": ("n", lambda t, x: t.exp(x)),
    "exp2": ("n", lambda t, x: t.exp2(x)), "log": ("p", lambda t, x: t.log(x)),
    "log2": ("p", lambda t, x: t.log2(x)), "log10": ("p", lambda t, x: t.log10(x)),
    "log1p": ("p", lambda t, x: t.log1p(x)), "expm1": ("n", lambda t, x: t.expm1(x)),
    "sqrt": ("p", lambda t, x: t.sqrt(x)), "rsqrt": ("p", lambda t, x: t.rsqrt(x)),
    "sin": ("n", lambda t, x: t.sin(x)), "cos": ("n", lambda t, x: t.cos(x)),
    "tan": ("u", lambda t, x: t.tan(x)), "tanh": ("n", lambda t, x: t.tanh(x)),
    "sigmoid": ("n", lambda t, x: t.sigmoid(x)), "relu": ("a", lambda t, x: t.relu(x)),
    "abs": ("a", lambda t, x: t.abs(x)), "sign": ("a", lambda t, x: t.sign(x)),
    "floor": ("frac", lambda t, x: t.floor(x)), "ceil": ("frac", lambda t, x: t.ceil(x)),
    "trunc": ("frac", lambda t, x: t.trunc(x)), "round": ("frac", lambda t, x: t.round(x)),
    "erf": ("n", lambda t, x: t.erf(x)), "clone": ("n", lambda t, x: x.clone()),
}

CASES: dict = {}
for _name, (_kind, _tf) in UNARY.items():
    CASES[_name] = [Case([(_kind, s)], torch_fn=_tf, name=str(s)) for s in [(), (1,), (3, 4), (0, 3)]]

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (3,)),
                 ((0, 2), (2,))]
for _name, _tf, (_ka, _kb) in [
        ("add", lambda t, a, b: a + b, ("n", "n")), ("sub", lambda t, a, b: a - b, ("n", "n")),
        ("mul", lambda t, a, b: a * b, ("n", "n")), ("div", lambda t, a, b: a / b, ("n", "a")),
        ("pow", lambda t, a, b: a ** b, ("p", "n")),
        ("maximum", lambda t, a, b: t.maximum(a, b), ("n", "n")),
        ("minimum", lambda t, a, b: t.minimum(a, b), ("n", "n")),
        ("remainder", lambda t, a, b: t.remainder(a, b), ("rem_a", "rem_b"))]:
    CASES[_name] = [Case([(_ka, sa), (_kb, sb)], torch_fn=_tf, name=f"{sa}-{sb}")
                    for sa, sb in BINARY_SHAPES]
    _scalar_tf = (lambda t, a, b, _f=_tf: _f(t, a, t.tensor(b, dtype=a.dtype))) \
        if _name in ("maximum", "minimum") else _tf  # torch.maximum wants two tensors
    CASES[_name].append(Case([(_ka, (3,)), 1.5], torch_fn=_scalar_tf, name="scalar"))
CASES["pow"] += [Case([("a", (3, 2)), 2], torch_fn=lambda t, a, b: a ** b, name="square"),
                 Case([("a", (3, 2)), 3.0], torch_fn=lambda t, a, b: a ** b, name="cube"),
                 Case([("p", (4,)), -0.5], torch_fn=lambda t, a, b: a ** b, name="neg-half")]

CASES["to_dtype"] = [Case([("n", (3,))], {"dtype": np.dtype(np.float64), "src": np.dtype(np.float64)},
                          torch_fn=lambda t, x: x.to(t.float64))]
CASES["where"] = [
    Case([("bool", (3, 4)), ("n", (3, 4)), ("n", (3, 4))], diff=[1, 2],
         torch_fn=lambda t, c, a, b: t.where(c, a, b)),
    Case([("bool", (3, 1)), ("n", (4,)), ("n", (3, 4))], diff=[1, 2],
         torch_fn=lambda t, c, a, b: t.where(c, a, b), name="broadcast"),
]
CASES["clamp"] = [
    Case([("n", (3, 4))], {"min": -0.5, "max": 0.5}, torch_fn=lambda t, x: x.clamp(-0.5, 0.5)),
    Case([("n", (5,))], {"min": -0.2, "max": None}, torch_fn=lambda t, x: x.clamp(min=-0.2)),
    Case([("n", (5,))], {"min": None, "max": 0.3}, torch_fn=lambda t, x: x.clamp(max=0.3)),
]

# shape primitives
CASES["reshape"] = [
    Case([("n", (2, 6))], {"shape": (3, 4), "in_shape": (2, 6)}, torch_fn=lambda t, x: x.reshape(3, 4)),
    Case([("n", (1,))], {"shape": (), "in_shape": (1,)}, torch_fn=lambda t, x: x.reshape(())),
    Case([("n", (0, 3))], {"shape": (3, 0), "in_shape": (0, 3)}, torch_fn=lambda t, x: x.reshape(3, 0)),
]
CASES["permute"] = [
    Case([("n", (2, 3, 4))], {"axes": (2, 0, 1)}, torch_fn=lambda t, x: x.permute(2, 0, 1)),
    Case([("n", (3, 4))], {"axes": (1, 0)}, torch_fn=lambda t, x: x.T),
]
CASES["expand"] = [
    Case([("n", (3, 1))], {"shape": (2, 3, 4), "in_shape": (3, 1)}, torch_fn=lambda t, x: x.expand(2, 3, 4)),
    Case([("n", ())], {"shape": (5,), "in_shape": ()}, torch_fn=lambda t, x: x.expand(5)),
]
CASES["sum_to"] = [
    Case([("n", (2, 3, 4))], {"shape": (3, 1), "in_shape": (2, 3, 4)},
         torch_fn=lambda t, x: x.sum(0).sum(-1, keepdim=True)),
    Case([("n", (4,))], {"shape": (), "in_shape": (4,)}, torch_fn=lambda t, x: x.sum()),
]
CASES["cat"] = [
    Case([("n", (2, 3)), ("n", (4, 3))], {"dim": 0, "sizes": (2, 4)},
         torch_fn=lambda t, a, b: t.cat([a, b], 0)),
    Case([("n", (2, 1)), ("n", (2, 0)), ("n", (2, 3))], {"dim": 1, "sizes": (1, 0, 3)},
         torch_fn=lambda t, a, b, c: t.cat([a, b, c], 1), name="three"),
]
CASES["flip"] = [Case([("n", (3, 4))], {"dims": (0, 1)}, torch_fn=lambda t, x: x.flip(0, 1)),
                 Case([("n", (2, 3, 2))], {"dims": (1,)}, torch_fn=lambda t, x: x.flip(1))]
CASES["roll"] = [Case([("n", (3, 4))], {"shifts": (1, -2), "dims": (0, 1)},
                      torch_fn=lambda t, x: x.roll((1, -2), (0, 1)))]
CASES["pad"] = [Case([("n", (2, 3))], {"widths": ((1, 0), (2, 1)), "value": 0.5},
                     torch_fn=lambda t, x: t.nn.functional.pad(x, (2, 1, 1, 0), value=0.5))]

# indexing primitives
CASES["getitem"] = [
    Case([("n", (4, 5))], {"index": _idx(slice(1, 3), 2), "in_shape": (4, 5), "basic": True},
         torch_fn=lambda t, x: x[1:3, 2], name="basic"),
    Case([("n", (4, 5))], {"index": _idx(I([0, 2, 0])), "in_shape": (4, 5), "basic": False},
         torch_fn=lambda t, x: x[[0, 2, 0]], name="repeated"),
    Case([("n", (3, 4, 2))], {"index": _idx(Ellipsis, None, I([1, 1]), slice(None)),
                              "in_shape": (3, 4, 2), "basic": False},
         torch_fn=lambda t, x: x[..., None, [1, 1], :], name="mixed"),
]
CASES["index_add_at"] = [
    Case([("n", (4, 3)), ("n", (3, 3))], {"index": _idx(I([0, 2, 0])), "basic": False},
         torch_fn=lambda t, x, s: x.index_add(0, t.tensor([0, 2, 0]), s)),
    Case([("n", (4, 3)), ("n", (2,))], {"index": _idx(slice(1, 3), 0), "basic": True},
         torch_fn=None, name="basic"),
]
CASES["index_put"] = [
    Case([("n", (4, 3)), ("n", (2, 3))], {"index": _idx(I([0, 2])), "v_shape": (2, 3)},
         torch_fn=lambda t, x, v: x.index_put((t.tensor([0, 2]),), v)),
    Case([("n", (4, 3)), ("n", (3,))], {"index": _idx(slice(1, 3)), "v_shape": (3,)},
         torch_fn=None, name="broadcast-value"),
]
_G_IDX = I([[0, 2, 2], [1, 0, 1]])
CASES["gather"] = [Case([("n", (2, 4))], {"index": _G_IDX, "dim": 1, "in_shape": (2, 4)},
                        torch_fn=lambda t, x: x.gather(1, t.tensor(_G_IDX)))]
CASES["scatter_add"] = [Case([("n", (2, 4)), ("n", (2, 3))],
                             {"index": _G_IDX, "dim": 1, "src_shape": (2, 3)},
                             torch_fn=lambda t, x, s: x.scatter_add(1, t.tensor(_G_IDX), s))]

# reductions
for _name, _kind, _tf in [
        ("sum", "n", lambda t, x, dims, keepdim: x.sum(dims, keepdim) if dims else x.sum()),
        ("prod", "a", None),
        ("amax", "distinct", lambda t, x, dims, keepdim: x.amax(dims or (), keepdim)),
        ("amin", "distinct", lambda t, x, dims, keepdim: x.amin(dims or (), keepdim)),
        ("logsumexp", "n", lambda t, x, dims, keepdim: t.logsumexp(x, dims or tuple(range(x.ndim)), keepdim)),
        ("norm2", "n", lambda t, x, dims, keepdim: t.linalg.vector_norm(x, 2, dims, keepdim))]:
    cases = []
    for shape, dims, keepdim in [((3, 4), None, False), ((3, 4), (1,), False), ((2, 3, 4), (0, 2), True),
                                 ((5,), (0,), True)]:
        params = {"dims": dims, "keepdim": keepdim}
        if _name == "sum":
            params["in_shape"] = shape
        tf = (lambda t, x, _f=_tf, _d=dims, _k=keepdim: _f(t, x, _d, _k)) if _tf else None
        cases.append(Case([(_kind, shape)], params, torch_fn=tf, name=f"{shape}-{dims}-{keepdim}"))
    CASES[_name] = cases
CASES["prod"].append(Case([np.array([[1.5, 0.0, -2.0], [0.5, 2.0, 3.0]])], {"dims": (1,), "keepdim": False},
                          torch_fn=lambda t, x: x.prod(1), name="one-zero"))
CASES["prod"].append(Case([np.array([1.5, 0.0, 0.0, 3.0])], {"dims": None, "keepdim": False},
                          torch_fn=lambda t, x: x.prod(), name="two-zeros"))
CASES["cumsum"] = [Case([("n", (3, 4))], {"dim": 1}, torch_fn=lambda t, x: x.cumsum(1)),
                   Case([("n", (5,))], {"dim": 0}, torch_fn=lambda t, x: x.cumsum(0))]

# linear algebra
CASES["matmul"] = [Case([("n", sa), ("n", sb)], torch_fn=lambda t, a, b: a @ b, name=f"{sa}@{sb}")
                   for sa, sb in [((3, 4), (4, 2)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)),
                                  ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)),
                                  ((2, 3, 4), (4,)), ((0, 4), (4, 2))]]
CASES["einsum"] = [
    Case([("n", (2, 3)), ("n", (3, 4))], {"ins": ("ij", "jk"), "out_sub": "ik"},
         torch_fn=lambda t, a, b: t.einsum("ij,jk->ik", a, b)),
    Case([("n", (2, 3, 4)), ("n", (2, 4))], {"ins": ("bij", "bj"), "out_sub": "bi"},
         torch_fn=lambda t, a, b: t.einsum("bij,bj->bi", a, b), name="batched"),
    Case([("n", (2, 3)), ("n", (4,))], {"ins": ("ij", "k"), "out_sub": "ik"},
         torch_fn=lambda t, a, b: t.einsum("ij,k->ik", a, b), name="summed-alone"),
    Case([("n", (2, 3)), ("n", (3,)), ("n", (3, 2))], {"ins": ("ij", "j", "jk"), "out_sub": "ik"},
         torch_fn=lambda t, a, b, c: t.einsum("ij,j,jk->ik", a, b, c), name="three"),
    Case([("n", (3, 3))], {"ins": ("ii",), "out_sub": "i"},
         torch_fn=lambda t, a: t.einsum("ii->i", a), name="diagonal"),
    Case([("n", (3, 3)), ("n", (3, 2))], {"ins": ("ii", "ij"), "out_sub": "j"},
         torch_fn=lambda t, a, b: t.einsum("ii,ij->j", a, b), name="trace-weighted"),
    Case([("n", (2, 2, 3))], {"ins": ("iij",), "out_sub": ""},
         torch_fn=lambda t, a: t.einsum("iij->", a), name="repeat-summed"),
]


from chainrule.ops.index import Dyn  # noqa: E402

CASES["index_tensor"] = [
    Case([("n", (4, 3)), np.array([2, 0, 2])], {"template": (Dyn(0),), "in_shape": (4, 3)},
         torch_fn=lambda t, x, i: x[i], name="rows"),
    Case([("n", (3, 5, 2)), np.array([[1, 4], [0, 0]])], {"template": (slice(None), Dyn(0)),
                                                          "in_shape": (3, 5, 2)},
         torch_fn=lambda t, x, i: x[:, i], name="second-dim"),
    Case([("n", (3, 4, 5)), np.array([1, 2]), np.array([0, 4])],
         {"template": (Dyn(0), slice(None), Dyn(1)), "in_shape": (3, 4, 5)},
         torch_fn=lambda t, x, i, j: x[i, :, j], name="separated"),
    Case([("n", (4, 3)), np.array(2)], {"template": (Dyn(0),), "in_shape": (4, 3)},
         torch_fn=lambda t, x, i: x[i], name="0-dim"),
]
CASES["index_tensor_add"] = [
    Case([("n", (4, 3)), ("n", (3, 3)), np.array([2, 0, 2])], {"template": (Dyn(0),)},
         torch_fn=lambda t, z, s, i: z.index_put((i,), s, accumulate=True), name="rows"),
    Case([("n", (3, 5, 2)), ("n", (3, 2, 2, 2)), np.array([[1, 4], [1, 1]])],
         {"template": (slice(None), Dyn(0))}, torch_fn=None, name="second-dim"),
    Case([("n", (3, 4, 5)), ("n", (2, 4)), np.array([1, 2]), np.array([0, 4])],
         {"template": (Dyn(0), slice(None), Dyn(1))}, torch_fn=None, name="separated"),
]


# convolution and pooling (chainrule.ops.conv): padding is (top, bottom, left, right)
def _t_pad(t, x, padding):
    """torch input padded as the primitive pads it (PyTorch's conv pads symmetrically)."""
    pt, pb, pl, pr = padding
    return t.nn.functional.pad(x, (pl, pr, pt, pb)) if (pt, pl) != (pb, pr) else x


def _t_conv(stride, padding, dilation, groups):
    sym = (padding[0], padding[2]) if (padding[0], padding[2]) == (padding[1], padding[3]) else 0
    return lambda t, x, w: t.nn.functional.conv2d(_t_pad(t, x, padding), w, None, stride, sym,
                                                  dilation, groups)


def _t_conv_transpose(stride, padding, dilation, groups, out_hw):
    def f(t, y, w):
        k = w.shape[2:]
        natural = [(n - 1) * s - 2 * p + d * (kk - 1) + 1
                   for n, s, p, d, kk in zip(y.shape[2:], stride, padding[::2], dilation, k)]
        return t.nn.functional.conv_transpose2d(
            y, w, None, stride, padding[::2], tuple(o - n for o, n in zip(out_hw, natural)),
            groups, dilation)
    return f


def _t_conv_weight_grad(stride, padding, dilation, groups, kernel_hw):
    def f(t, x, y):  # d<y, conv2d(x, w)>/dw, kept differentiable in x and y
        w = t.zeros((y.shape[1], x.shape[1] // groups) + tuple(kernel_hw), dtype=x.dtype,
                    requires_grad=True)
        out = _t_conv(stride, padding, dilation, groups)(t, x, w)
        return t.autograd.grad(out, w, y, create_graph=True)[0]
    return f


def _conv_params(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, **extra):
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups, **extra)


CASES["conv2d"] = [
    Case([("n", (2, 3, 5, 4)), ("n", (4, 3, 2, 3))], _conv_params(padding=(1, 1, 2, 2)),
         torch_fn=_t_conv((1, 1), (1, 1, 2, 2), (1, 1), 1), name="pad"),
    Case([("n", (1, 4, 6, 5)), ("n", (4, 2, 3, 2))],
         _conv_params((2, 1), (1, 1, 1, 1), (1, 2), 2),
         torch_fn=_t_conv((2, 1), (1, 1, 1, 1), (1, 2), 2), name="stride-dilation-groups"),
    Case([("n", (1, 2, 4, 4)), ("n", (3, 2, 2, 2))], _conv_params(padding=(0, 1, 0, 1)),
         torch_fn=_t_conv((1, 1), (0, 1, 0, 1), (1, 1), 1), name="same-even-kernel"),
]
CASES["conv_transpose2d"] = [
    Case([("n", (2, 3, 3, 3)), ("n", (3, 2, 2, 2))],
         _conv_params(stride=(2, 2), out_hw=(6, 7)),
         torch_fn=_t_conv_transpose((2, 2), (0, 0, 0, 0), (1, 1), 1, (6, 7)), name="stride-outpad"),
    Case([("n", (1, 4, 3, 2)), ("n", (4, 1, 3, 3))],
         _conv_params(padding=(1, 1, 1, 1), groups=2, out_hw=(3, 2)),
         torch_fn=_t_conv_transpose((1, 1), (1, 1, 1, 1), (1, 1), 2, (3, 2)), name="pad-groups"),
    Case([("n", (1, 2, 3, 2)), ("n", (2, 2, 2, 3))],
         _conv_params((1, 2), (1, 1, 0, 0), (2, 1), 1, out_hw=(3, 6)),
         torch_fn=_t_conv_transpose((1, 2), (1, 1, 0, 0), (2, 1), 1, (3, 6)), name="dilation"),
]
CASES["conv2d_weight_grad"] = [
    Case([("n", (2, 3, 5, 5)), ("n", (2, 4, 3, 3))], _conv_params(kernel_hw=(3, 3)),
         torch_fn=_t_conv_weight_grad((1, 1), (0, 0, 0, 0), (1, 1), 1, (3, 3))),
    Case([("n", (1, 4, 5, 6)), ("n", (1, 2, 3, 3))],
         _conv_params((2, 2), (1, 1, 1, 1), (1, 2), 2, kernel_hw=(2, 2)),
         torch_fn=_t_conv_weight_grad((2, 2), (1, 1, 1, 1), (1, 2), 2, (2, 2)), name="groups"),
    Case([("n", (1, 2, 4, 4)), ("n", (1, 3, 4, 4))], _conv_params(padding=(0, 1, 0, 1), kernel_hw=(2, 2)),
         torch_fn=_t_conv_weight_grad((1, 1), (0, 1, 0, 1), (1, 1), 1, (2, 2)), name="asym-pad"),
]


def _pool_params(kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    return dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)


CASES["max_pool2d_indices"] = [
    Case([("distinct", (2, 3, 5, 6))], _pool_params((2, 2), (2, 2)),
         torch_fn=lambda t, x: t.nn.functional.max_pool2d(x, 2, return_indices=True)[1]),
    Case([("distinct", (1, 2, 6, 7))], _pool_params((3, 2), (2, 1), (1, 1), (1, 2), True),
         torch_fn=lambda t, x: t.nn.functional.max_pool2d(x, (3, 2), (2, 1), (1, 1), (1, 2), True,
                                                          return_indices=True)[1], name="ceil"),
    Case([np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0]]]])], _pool_params((2, 2), (1, 1)),
         torch_fn=lambda t, x: t.nn.functional.max_pool2d(x, 2, 1, return_indices=True)[1],
         name="ties-first"),
]
_POOL_IDX = np.random.default_rng(4).integers(0, 20, (2, 3, 2, 2))
_POOL_IDX_UNIQUE = np.stack([np.random.default_rng(k).permutation(20)[:4].reshape(2, 2)
                             for k in range(6)]).reshape(2, 3, 2, 2)


def _t_plane_gather(t, x, i):
    return t.gather(x.flatten(2), 2, i.flatten(2)).reshape(i.shape)


def _t_plane_scatter(in_hw):
    def f(t, y, i):
        z = t.zeros(y.shape[:2] + (in_hw[0] * in_hw[1],), dtype=y.dtype)
        return z.scatter_add(2, i.flatten(2), y.flatten(2)).reshape(y.shape[:2] + tuple(in_hw))
    return f


CASES["max_pool2d_gather"] = [
    Case([("n", (2, 3, 4, 5)), _POOL_IDX], {"in_hw": (4, 5)}, torch_fn=_t_plane_gather),
]
CASES["max_pool2d_scatter"] = [
    Case([("n", (2, 3, 2, 2)), _POOL_IDX], {"in_hw": (4, 5), "overlap": True},
         torch_fn=_t_plane_scatter((4, 5)), name="repeated"),
    Case([("n", (2, 3, 2, 2)), _POOL_IDX_UNIQUE], {"in_hw": (5, 4), "overlap": False},
         torch_fn=_t_plane_scatter((5, 4)), name="unique"),
]


def _avg_params(kernel_size, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True,
                divisor_override=None, in_hw=None):
    return dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad, divisor_override=divisor_override, in_hw=in_hw)


def _t_avg(p):
    def f(t, x):
        return t.nn.functional.avg_pool2d(x, p["kernel_size"], p["stride"], p["padding"],
                                          p["ceil_mode"], p["count_include_pad"], p["divisor_override"])
    return f


def _t_avg_backward(p):
    def f(t, y):  # the transpose of avg_pool2d, kept differentiable in y
        x0 = t.zeros(y.shape[:2] + tuple(p["in_hw"]), dtype=y.dtype, requires_grad=True)
        return t.autograd.grad(_t_avg(p)(t, x0), x0, y, create_graph=True)[0]
    return f


_AVG_CASES = [  # (input shape, params)
    ((2, 3, 4, 6), _avg_params((2, 2), (2, 2), in_hw=(4, 6))),
    ((1, 2, 5, 6), _avg_params((3, 2), (2, 1), (1, 1), True, False, in_hw=(5, 6))),
    ((1, 2, 4, 5), _avg_params((2, 3), (1, 2), (1, 1), False, True, in_hw=(4, 5))),
    ((2, 1, 3, 4), _avg_params((2, 2), (1, 1), divisor_override=3, in_hw=(3, 4))),
]
CASES["avg_pool2d"] = [Case([("n", shape)], p, torch_fn=_t_avg(p), name=f"{shape}")
                       for shape, p in _AVG_CASES]
CASES["avg_pool2d_backward"] = []
for _shape, _p in _AVG_CASES:
    _out = REGISTRY["avg_pool2d"].forward(np.zeros(_shape), **_p).shape
    CASES["avg_pool2d_backward"].append(Case([("n", _out)], _p, torch_fn=_t_avg_backward(_p),
                                             name=f"{_shape}"))


# recurrent layers (chainrule.ops.recurrent): the time loop written out with torch ops
def _t_steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _t_rnn(reverse, nonlinearity):
    def f(t, xp, w, h0):
        h, ys = h0, [None] * xp.shape[0]
        for k in _t_steps(xp.shape[0], reverse):
            a = xp[k] + h @ w.T
            h = t.tanh(a) if nonlinearity == "tanh" else t.relu(a)
            ys[k] = h
        return t.stack(ys)
    return f


def _t_lstm(reverse):
    def f(t, xp, w, b, h0, c0):
        h, c, T = h0, c0, xp.shape[0]
        ys, cs = [None] * T, [None] * T
        for k in _t_steps(T, reverse):
            i, fg, g, o = (xp[k] + h @ w.T + b).chunk(4, 1)
            c = t.sigmoid(fg) * c + t.sigmoid(i) * t.tanh(g)
            h = t.sigmoid(o) * t.tanh(c)
            ys[k], cs[k] = h, c
        return t.cat([t.stack(ys), t.stack(cs)])
    return f


def _t_gru(reverse):
    def f(t, xp, w, b, h0):
        h, ys = h0, [None] * xp.shape[0]
        for k in _t_steps(xp.shape[0], reverse):
            xr, xz, xn = xp[k].chunk(3, 1)
            hr, hz, hn = (h @ w.T + b).chunk(3, 1)
            r, z = t.sigmoid(xr + hr), t.sigmoid(xz + hz)
            n = t.tanh(xn + r * hn)
            h = (1 - z) * n + z * h
            ys[k] = h
        return t.stack(ys)
    return f


CASES["rnn_layer"] = [
    Case([("n", (3, 2, 4)), ("n", (4, 4)), ("n", (2, 4))], {"reverse": rev, "nonlinearity": nl},
         torch_fn=_t_rnn(rev, nl), name=f"{nl}-{rev}")
    for nl in ("tanh", "relu") for rev in (False, True)]
CASES["lstm_layer"] = [
    Case([("n", (3, 2, 12)), ("n", (12, 3)), ("n", (12,)), ("n", (2, 3)), ("n", (2, 3))],
         {"reverse": rev}, torch_fn=_t_lstm(rev), name=f"reverse={rev}") for rev in (False, True)]
CASES["gru_layer"] = [
    Case([("n", (3, 2, 9)), ("n", (9, 3)), ("n", (9,)), ("n", (2, 3))], {"reverse": rev},
         torch_fn=_t_gru(rev), name=f"reverse={rev}") for rev in (False, True)]

# primitives without derivative rules: their forward is checked against PyTorch and
# (in the vmap tests) their batching rule; the gradient tests skip them
_BIN_SHAPES = [((3, 4), (4,)), ((2, 1), (1, 3))]
for _name, _tf in [("eq", lambda t, a, b: a == b), ("ne", lambda t, a, b: a != b),
                   ("lt", lambda t, a, b: a < b), ("le", lambda t, a, b: a <= b),
                   ("gt", lambda t, a, b: a > b), ("ge", lambda t, a, b: a >= b),
                   ("floor_divide", lambda t, a, b: t.floor_divide(a, b))]:
    CASES[_name] = [Case([("n", sa), ("a", sb)], torch_fn=_tf, name=f"{sa}-{sb}") for sa, sb in _BIN_SHAPES]
for _name, _tf in [("logical_and", lambda t, a, b: t.logical_and(a, b)),
                   ("logical_or", lambda t, a, b: t.logical_or(a, b)),
                   ("logical_xor", lambda t, a, b: t.logical_xor(a, b)),
                   ("bitwise_and", lambda t, a, b: a & b), ("bitwise_or", lambda t, a, b: a | b),
                   ("bitwise_xor", lambda t, a, b: a ^ b)]:
    CASES[_name] = [Case([("bool", sa), ("bool", sb)], torch_fn=_tf, name=f"{sa}-{sb}")
                    for sa, sb in _BIN_SHAPES]
for _name, _kind, _tf in [("logical_not", "bool", lambda t, x: t.logical_not(x)),
                          ("bitwise_not", "bool", lambda t, x: ~x),
                          ("isnan", "n", lambda t, x: t.isnan(x)), ("isinf", "n", lambda t, x: t.isinf(x)),
                          ("isfinite", "n", lambda t, x: t.isfinite(x)),
                          ("alias", "n", lambda t, x: x.detach())]:
    CASES[_name] = [Case([(_kind, (3, 4))], torch_fn=_tf)]
CASES["isnan"].append(Case([np.array([1.0, np.nan, np.inf])], torch_fn=lambda t, x: t.isnan(x), name="nan"))
CASES["isinf"].append(Case([np.array([1.0, np.nan, -np.inf])], torch_fn=lambda t, x: t.isinf(x), name="inf"))
for _name in ("argmax", "argmin"):
    CASES[_name] = [
        Case([("distinct", (3, 4))], {"dim": 1, "keepdim": False},
             torch_fn=lambda t, x, _n=_name: getattr(x, _n)(1)),
        Case([("distinct", (3, 4))], {"dim": None, "keepdim": False},
             torch_fn=lambda t, x, _n=_name: getattr(x, _n)(), name="flat"),
        Case([("distinct", (2, 3))], {"dim": 0, "keepdim": True},
             torch_fn=lambda t, x, _n=_name: getattr(x, _n)(0, keepdim=True), name="keepdim"),
    ]
for _name in ("all", "any", "count_nonzero"):
    CASES[_name] = [
        Case([("bool", (3, 4))], {"dims": (1,), "keepdim": False},
             torch_fn=lambda t, x, _n=_name: getattr(t, _n)(x, 1)),
        Case([("bool", (3, 4))], {"dims": None, "keepdim": False},
             torch_fn=lambda t, x, _n=_name: getattr(t, _n)(x), name="all-dims"),
    ]


# ----------------------------------------------------------------------------- helpers

def _load_extensions() -> None:
    """Primitive families kept in files of their own (tests/registry_cases_*.py) add their
    cases: each defines cases(Case) -> {primitive name: [Case, ...]} and may define
    NON_DIFFERENTIABLE_PRIMITIVES (a set, with the reason in a comment there)."""
    import importlib
    from pathlib import Path
    for path in sorted(Path(__file__).parent.glob("registry_cases_*.py")):
        mod = importlib.import_module(path.stem)
        CASES.update(mod.cases(Case))
        _EXTRA_NON_DIFFERENTIABLE.update(getattr(mod, "NON_DIFFERENTIABLE_PRIMITIVES", set()))


_EXTRA_NON_DIFFERENTIABLE: set = set()
_load_extensions()


EVERY_CASE = [(name, i, c) for name, cases in sorted(CASES.items()) for i, c in enumerate(cases)]
# the gradient tests: differentiable primitives only
ALL_CASES = [(n, i, c) for n, i, c in EVERY_CASE if REGISTRY[n].differentiable]
IDS = [f"{name}-{c.name or i}" for name, i, c in ALL_CASES]


def _build(case, rng, dtype=np.float64):
    args = [_make(s, rng, dtype) for s in case.args]
    if case.diff is not None:
        diff = list(case.diff)
    else:
        diff = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    return args, diff


def _forward(prim, args, params):
    return REGISTRY[prim].forward(*args, **params)


def _tensors(args, diff, requires_grad=True):
    return [cr.tensor(a, requires_grad=requires_grad and i in diff) if isinstance(a, np.ndarray)
            else a for i, a in enumerate(args)]


def _vjp(prim, args, diff, params, u):
    """Cotangents of the diff inputs via the engine (ordinary backward)."""
    ts = _tensors(args, diff)
    out = apply(REGISTRY[prim], *ts, **params)
    grads = cr.autograd.grad(out, [ts[i] for i in diff], grad_outputs=cr.tensor(u), allow_unused=True)
    return [np.zeros_like(args[i]) if g is None else g.numpy() for g, i in zip(grads, diff)]


def _assert_close(got, want, what, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


# ----------------------------------------------------------------------------- the tests



def test_every_primitive_has_cases():
    missing = sorted(set(REGISTRY) - set(CASES))
    assert not missing, f"primitives without gradient-check cases: {missing}"
    unknown = sorted(set(CASES) - set(REGISTRY))
    assert not unknown, f"cases for primitives that do not exist: {unknown}"


# primitives that have no derivative, each for a reason (PyTorch gives none either)
NON_DIFFERENTIABLE_PRIMITIVES = {
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",  # bool results
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "isnan", "isinf", "isfinite", "all", "any",
    "argmax", "argmin", "count_nonzero",  # integer results
    "floor_divide",  # PyTorch: "derivative for floor_divide is not implemented"
    "alias",  # detach(): cuts the graph by definition
    "max_pool2d_indices",  # integer results (max_pool2d's derivative goes through max_pool2d_gather)
} | _EXTRA_NON_DIFFERENTIABLE


def test_every_primitive_has_vjp_and_jvp_for_its_inputs():
    for name, prim in REGISTRY.items():
        if name in NON_DIFFERENTIABLE_PRIMITIVES:
            assert not prim.vjp and not prim.jvp, f"{name} is listed as non-differentiable"
            continue
        assert prim.vjp and prim.jvp, f"{name} lacks vjp or jvp rules"
        if not prim.variadic:
            assert len(prim.vjp) == len(prim.jvp), f"{name}: vjp and jvp rules differ in number"


@pytest.mark.parametrize("name,i,case", ALL_CASES, ids=IDS)
def test_vjp_matches_finite_differences(name, i, case):
    rng = np.random.default_rng(hash((name, i)) % 2 ** 32)
    args, diff = _build(case, rng)
    out = _forward(name, args, case.params)
    u = rng.standard_normal(np.shape(out))
    got = _vjp(name, args, diff, case.params, u)
    for g, k in zip(got, diff):
        assert g.shape == args[k].shape, f"{name}: gradient shape {g.shape} != input shape {args[k].shape}"
        fd = finite_difference(lambda: float(np.sum(u * _forward(name, args, case.params))), args[k])
        _assert_close(g, fd, f"{name} vjp, input {k}")


@pytest.mark.parametrize("name,i,case", ALL_CASES, ids=IDS)
def test_jvp_matches_finite_differences_and_vjp(name, i, case):
    rng = np.random.default_rng(hash((name, i, "jvp")) % 2 ** 32)
    args, diff = _build(case, rng)
    prim = REGISTRY[name]
    out = np.asarray(_forward(name, args, case.params))
    tangents = [rng.standard_normal(np.shape(a)) if k in diff else None for k, a in enumerate(args)]
    saved = args if prim.save_inputs else [None] * len(args)
    jvp = output_tangent(prim, NP, tangents, out, args, case.params)
    assert jvp is not None and np.shape(jvp) == out.shape
    eps = 1e-6
    hi = [a + eps * t if t is not None else a for a, t in zip(args, tangents)]
    lo = [a - eps * t if t is not None else a for a, t in zip(args, tangents)]
    fd = (np.asarray(_forward(name, hi, case.params)) - np.asarray(_forward(name, lo, case.params))) / (2 * eps)
    _assert_close(jvp, fd, f"{name} jvp")
    # <jvp(v), u> == <v, vjp(u)>
    u = rng.standard_normal(out.shape)
    vjps = _vjp(name, args, diff, case.params, u)
    lhs = float(np.sum(np.asarray(jvp) * u))
    rhs = sum(float(np.sum(tangents[k] * g)) for g, k in zip(vjps, diff))
    assert abs(lhs - rhs) <= 1e-8 * (1 + abs(lhs)), f"{name}: <jvp(v),u>={lhs} but <v,vjp(u)>={rhs}"
    del saved


SECOND_ORDER = [(n, i, c) for n, i, c in ALL_CASES if REGISTRY[n].second_order]


@pytest.mark.parametrize("name,i,case", SECOND_ORDER,
                         ids=[f"{n}-{c.name or i}" for n, i, c in SECOND_ORDER])
def test_second_derivative_matches_finite_differences(name, i, case):
    """d/dx <w, vjp_u(x)> from create_graph=True against finite differences of the vjp."""
    rng = np.random.default_rng(hash((name, i, "2nd")) % 2 ** 32)
    args, diff = _build(case, rng)
    out = _forward(name, args, case.params)
    u = rng.standard_normal(np.shape(out))
    ws = [rng.standard_normal(args[k].shape) for k in diff]

    ts = _tensors(args, diff)
    y = apply(REGISTRY[name], *ts, **case.params)
    firsts = cr.autograd.grad(y, [ts[k] for k in diff], grad_outputs=cr.tensor(u), create_graph=True,
                              allow_unused=True)
    total = sum(((g * cr.tensor(w)).sum() for g, w in zip(firsts, ws) if g is not None), cr.tensor(0.0))
    if not total.requires_grad:
        pytest.skip("first derivative does not depend on the inputs here")
    seconds = cr.autograd.grad(total, [ts[k] for k in diff], allow_unused=True)

    def h():
        return sum(float(np.sum(g * w)) for g, w in zip(_vjp(name, args, diff, case.params, u), ws))
    for s, k in zip(seconds, diff):
        fd = finite_difference(h, args[k], eps=1e-5)
        got = np.zeros_like(args[k]) if s is None else s.numpy()
        _assert_close(got, fd, f"{name} second derivative, input {k}", rtol=1e-4, atol=1e-5)


ORACLE = [(n, i, c) for n, i, c in EVERY_CASE if c.torch_fn is not None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,i,case", ORACLE, ids=[f"{n}-{c.name or i}" for n, i, c in ORACLE])
def test_against_pytorch(name, i, case, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(hash((name, i, "torch")) % 2 ** 32)
    args, diff = _build(case, rng, dtype)
    ts = _tensors(args, diff)
    ours = apply(REGISTRY[name], *ts, **case.params)
    theirs_in = [torch.tensor(a, requires_grad=k in diff) if isinstance(a, np.ndarray) else a
                 for k, a in enumerate(args)]
    theirs = case.torch_fn(torch, *theirs_in)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), f"{name}: dtype"
    _assert_close(ours.numpy(force=True), theirs.detach().numpy(), f"{name} forward vs torch", **tol)
    if not diff or not REGISTRY[name].differentiable or not theirs.requires_grad:
        assert not ours.requires_grad or REGISTRY[name].differentiable
        return
    u = rng.standard_normal(tuple(theirs.shape)).astype(dtype)
    ours_g = cr.autograd.grad(ours, [ts[k] for k in diff], grad_outputs=cr.tensor(u), allow_unused=True)
    theirs_g = torch.autograd.grad(theirs, [theirs_in[k] for k in diff], grad_outputs=torch.tensor(u),
                                   allow_unused=True)
    for a, b, k in zip(ours_g, theirs_g, diff):
        b = np.zeros_like(args[k]) if b is None else b.numpy()
        a = np.zeros_like(args[k]) if a is None else a.numpy()
        _assert_close(a, b, f"{name} gradient of input {k} vs torch", **tol)


def test_case_table_covers_broadcasting_and_empty_shapes():
    """The table itself: binary ops are exercised with broadcasting and size-0 dimensions."""
    shapes = {c.name for c in CASES["mul"]}
    assert "(3, 4)-(4,)" in shapes and "(0, 2)-(2,)" in shapes
    assert any(s == (0, 3) for c in CASES["exp"] for _, s in [c.args[0]])


def test_engine_sums_broadcast_gradients_once_per_input():
    # all pairs of broadcastable shapes from a small set: every gradient has its input's shape
    for sa, sb in itertools.product([(3, 1), (1, 4), (4,), ()], repeat=2):
        a = cr.randn(*sa, requires_grad=True)
        b = cr.randn(*sb, requires_grad=True)
        (a * b).sum().backward()
        assert a.grad.shape == sa and b.grad.shape == sb


# ----------------------------------------------------------------------------- batching rules

BATCH_VARIANTS = []
for _n, _i, _c in EVERY_CASE:
    _n_arrays = sum(1 for s in _c.args if isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str)
                    or isinstance(s, np.ndarray))
    BATCH_VARIANTS.append((_n, _i, _c, "all"))
    if _n_arrays > 1:
        BATCH_VARIANTS.append((_n, _i, _c, "first"))
        BATCH_VARIANTS.append((_n, _i, _c, "last"))


def test_every_primitive_has_a_batching_rule():
    from chainrule.func.batching import BATCH_RULES
    missing = sorted(set(REGISTRY) - set(BATCH_RULES))
    assert not missing, f"primitives without a batching rule (vmap would loop): {missing}"


@pytest.mark.parametrize("name,i,case,which", BATCH_VARIANTS,
                         ids=[f"{n}-{c.name or i}-{w}" for n, i, c, w in BATCH_VARIANTS])
def test_batching_rule_matches_a_loop_over_the_batch(name, i, case, which):
    """The primitive applied to a batch at once equals it applied example by example."""
    from chainrule.func.batching import batch_primitive
    B = 3
    rng = np.random.default_rng(abs(hash((name, i, "batch"))) % 2 ** 32)
    is_array = [isinstance(s, np.ndarray) or (isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str))
                for s in case.args]
    positions = [k for k, a in enumerate(is_array) if a]
    chosen = {"all": positions, "first": positions[:1], "last": positions[-1:]}[which]
    per_example = [[_make(s, rng, np.float64) for s in case.args] for _ in range(B)]
    for k in range(len(case.args)):  # unbatched arguments are the same for every example
        if k not in chosen:
            for b in range(1, B):
                per_example[b][k] = per_example[0][k]
    want = np.stack([np.asarray(_forward(name, ex, case.params)) for ex in per_example])
    args = []
    for k in range(len(case.args)):
        if k in chosen:
            args.append(cr.tensor(np.stack([ex[k] for ex in per_example])))
        elif is_array[k]:
            args.append(cr.tensor(per_example[0][k]))
        else:
            args.append(per_example[0][k])
    got = batch_primitive(REGISTRY[name], args, [k in chosen for k in range(len(args))], case.params, B)
    assert tuple(got.shape) == want.shape, f"{name}: batched shape {tuple(got.shape)} != {want.shape}"
    assert got.numpy().dtype == want.dtype, f"{name}: dtype {got.numpy().dtype} != {want.dtype}"
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12, err_msg=name)
