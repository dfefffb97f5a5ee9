"""Linear algebra: ``matmul`` (batched, broadcasting, 1-D cases) and ``einsum`` are
primitives; mm, bmm, mv, dot, outer are matmul with PyTorch's shape checks."""
from __future__ import annotations

import string

import numpy as np

from ..autograd.graph import show_as
from ..tensor import Tensor
from .elementwise import as_tensor_operand
from .primitive import Primitive, apply, apply_binary

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "einsum"]


# ----------------------------------------------------------------------------- matmul

def _matmul_grad_a(F, g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:  # the common case, first
        return g @ b.mT
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    if len(b_shape) == 1:
        if len(a_shape) == 1:  # dot product: g is a scalar
            return g * b
        return F.reshape(g, tuple(g.shape) + (1,)) * b  # (..., n, 1) * (k,) = (..., n, k)
    if len(a_shape) == 1:  # (k,) @ (..., k, m): sum the batch of row-vector products
        g2 = F.reshape(g, tuple(g.shape[:-1]) + (1, g.shape[-1]))
        r = F.matmul(g2, F.swap_last(b))
        return F.reshape(F.sum_to(r, (1, a_shape[0])), a_shape)
    r = F.matmul(g, F.swap_last(b))
    return r if tuple(r.shape) == a_shape else F.sum_to(r, a_shape)


def _matmul_grad_b(F, g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:
        return a.mT @ g
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    if len(a_shape) == 1:
        if len(b_shape) == 1:
            return g * a
        g2 = F.reshape(g, tuple(g.shape[:-1]) + (1, g.shape[-1]))
        r = F.reshape(a, (a_shape[0], 1)) * g2  # (..., k, m)
        return r if tuple(r.shape) == b_shape else F.sum_to(r, b_shape)
    if len(b_shape) == 1:  # (..., n, k) @ (k,)
        r = F.matmul(F.swap_last(a), F.reshape(g, tuple(g.shape) + (1,)))  # (..., k, 1)
        return F.reshape(F.sum_to(r, (b_shape[0], 1)), b_shape)
    r = F.matmul(F.swap_last(a), g)
    return r if tuple(r.shape) == b_shape else F.sum_to(r, b_shape)


def _matmul_error(inputs, exc):
    a, b = inputs
    sa, sb = list(a.shape), list(b.shape)
    if not sa or not sb:
        return RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}")
    inner_b = sb[-2] if len(sb) > 1 else sb[0]
    if sa[-1] != inner_b:
        return RuntimeError(
            f"matmul: shapes {sa} and {sb} cannot be multiplied: the last dimension of the first "
            f"({sa[-1]}) must equal the {'second-to-last' if len(sb) > 1 else 'only'} dimension of "
            f"the second ({inner_b}). Check the operand order or transpose one (e.g. x @ w.T).")
    return RuntimeError(f"matmul: the batch dimensions of shapes {sa} and {sb} cannot be broadcast "
                        "together; they must be equal or 1 in each position")


_matmul = Primitive(
    "matmul", np.matmul,
    vjp=[_matmul_grad_a, _matmul_grad_b],
    jvp=[lambda F, t, out, a, b: F.matmul(t, b), lambda F, t, out, a, b: F.matmul(a, t)],
    node_name="MmBackward0", error_hint=_matmul_error)


def _same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, but got "
                           f"{a.dtype} and {b.dtype}; convert one with .to(other.dtype)")


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading
    dimensions are batch dimensions and broadcast."""
    if not isinstance(input, Tensor):
        input = as_tensor_operand(input)
    if not isinstance(other, Tensor):
        other = as_tensor_operand(other)
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul: both operands must be tensors (use * to scale by a number)")
    _same_dtype("matmul", input, other)
    out = apply_binary(_matmul, input, other)
    if other._data.ndim == 1 and input._data.ndim <= 2:  # PyTorch's names for these products
        show_as(out, "DotBackward0" if input._data.ndim == 1 else "MvBackward0", input, other)
    return out


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only)."""
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be 2-D matrices, got shapes {list(input.shape)} "
                           f"and {list(mat2.shape)}; use matmul for batches or vectors")
    if input._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({input._data.shape[0]}x{input._data.shape[1]}"
            f" and {mat2._data.shape[0]}x{mat2._data.shape[1]}): the columns of mat1 must equal the "
            "rows of mat2; transpose one operand if needed")
    if input._data.dtype != mat2._data.dtype:
        _same_dtype("mm", input, mat2)
    return apply_binary(_matmul, input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of 3-D tensors with the same batch size."""
    if input._data.ndim != 3 or mat2._data.ndim != 3:
        raise RuntimeError(f"bmm: both arguments must be 3-D, got shapes {list(input.shape)} and "
                           f"{list(mat2.shape)}")
    if input._data.shape[0] != mat2._data.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input._data.shape[0]} and {mat2._data.shape[0]}")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {list(input.shape)} "
                           f"and {list(vec.shape)}")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and "
                           f"{other._data.ndim}D tensors (dot)")
    if input._data.shape != other._data.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input._data.shape[0]}] and "
                           f"src [{other._data.shape[0]}] to have the same number of elements, but "
                           "got different sizes (dot)")
    return matmul(input, other)


vdot = dot


def inner(input: Tensor, other: Tensor) -> Tensor:
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    return matmul(input, other.mT if other._data.ndim > 1 else other) if other._data.ndim <= 2 \
        else einsum("...i,...ji->...j", input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors."""
    from .shape import reshape
    if input._data.ndim != 1 or vec2._data.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {list(input.shape)} and "
                           f"{list(vec2.shape)}")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


ger = outer


# ----------------------------------------------------------------------------- einsum

def _parse_einsum(equation: str, ndims: list) -> tuple:
    """Return (input subscripts, output subscripts) with '...' replaced by letters and the
    implicit output (no '->') made explicit, as PyTorch defines it."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ValueError(f"einsum(): the equation {equation!r} names {len(ins)} operands but "
                         f"{len(ndims)} were given")
    used = set(c for c in eq if c.isalpha())
    spare = [c for c in string.ascii_letters if c not in used]
    n_ell = 0
    for sub, nd in zip(ins, ndims):
        if "..." in sub:
            n_ell = max(n_ell, nd - (len(sub) - 3))
    ell = "".join(spare[:n_ell])
    out_ins = []
    for sub, nd in zip(ins, ndims):
        if "..." in sub:
            k = nd - (len(sub) - 3)
            sub = sub.replace("...", ell[n_ell - k:] if k else "")
        if len(sub) != nd or not sub.isalpha():
            raise ValueError(f"einsum(): subscripts {sub!r} do not fit an operand with {nd} dimensions "
                             f"in {equation!r}")
        out_ins.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for sub in out_ins:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return out_ins, out


def _einsum_forward(*ops, ins, out_sub):
    return np.einsum(",".join(ins) + "->" + out_sub, *ops, optimize=len(ops) > 2)


def _einsum_vjp(F, g, out, *ops, index, ins, out_sub):
    sub = ins[index]
    shape = tuple(ops[index].shape)
    others = [o for j, o in enumerate(ops) if j != index]
    other_subs = tuple(s for j, s in enumerate(ins) if j != index)
    if len(set(sub)) == len(sub):
        return _einsum_operand_grad(F, g, others, other_subs, out_sub, sub, shape)
    # A repeated letter ("ii": a diagonal): take the gradient of the distinct letters, then
    # put it back on the diagonal by multiplying with identity matrices, one per repeat.
    used = set("".join(ins) + out_sub)
    spare = iter(c for c in string.ascii_letters if c not in used)
    distinct = "".join(dict.fromkeys(sub))
    renamed, pairs, eyes = [], [], []
    for c, n in zip(sub, shape):
        if c in renamed:
            fresh = next(spare)
            renamed.append(fresh)
            pairs.append(c + fresh)
            eyes.append(F.lift(np.eye(n, dtype=F.value(g).dtype), g))
        else:
            renamed.append(c)
    distinct_shape = tuple(shape[sub.index(c)] for c in distinct)
    r = _einsum_operand_grad(F, g, others, other_subs, out_sub, distinct, distinct_shape)
    return F.call("einsum", r, *eyes, ins=(distinct,) + tuple(pairs), out_sub="".join(renamed))


def _einsum_operand_grad(F, g, others, other_subs, out_sub, sub, shape):
    """The gradient for an operand whose subscripts ``sub`` are all different letters."""
    available = set(out_sub).union(*other_subs)
    kept = "".join(c for c in sub if c in available)
    r = F.call("einsum", g, *others, ins=(out_sub,) + other_subs, out_sub=kept)
    if kept != sub:  # letters summed away inside this operand alone: broadcast them back
        r = F.reshape(r, tuple(shape[i] if c in kept else 1 for i, c in enumerate(sub)))
        r = F.expand(r, shape)
    return r if tuple(r.shape) == shape else F.sum_to(r, shape)


def _einsum_jvp(F, t, out, *ops, index, ins, out_sub):
    args = list(ops)
    args[index] = t
    return F.call("einsum", *args, ins=ins, out_sub=out_sub)


_einsum = Primitive("einsum", _einsum_forward, vjp=_einsum_vjp, jvp=_einsum_jvp, variadic=True)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; '...' and implicit outputs work."""
    from .elementwise import to_dtype
    from .. import dtypes as _dt
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    ins, out = _parse_einsum(equation, [o._data.ndim for o in operands])
    target = _dt.result_type(*operands)
    operands = [to_dtype(o, target) for o in operands]
    return apply(_einsum, *operands, ins=tuple(ins), out_sub=out)
