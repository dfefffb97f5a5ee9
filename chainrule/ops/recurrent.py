"""Recurrent layers as primitives: one Elman RNN, LSTM or GRU layer over a whole sequence.

Composing a recurrent layer from small ops costs a graph node per gate per time step, and
slicing the precomputed input projections ``xp[t]`` costs a full-size zero array per
step in the backward pass (O(T^2) memory traffic).  One primitive per layer and direction
instead runs the time loop in NumPy, and its vjp is backpropagation through time: the
gate activations are recomputed for all steps at once from the saved outputs (one large
matmul), so only the recurrences themselves are sequential.

Inputs are the input projections for all steps (``xp = x @ W_ih^T + biases``, computed by
the caller with one matmul), the hidden-to-hidden weight and the initial states.  Outputs
are packed into one array:

- ``rnn_layer(xp (T,B,H), w_hh (H,H), h0 (B,H))`` -> ``Y`` (T,B,H);
- ``lstm_layer(xp (T,B,4H), w_hh (4H,H), b (4H,) or None, h0, c0)`` -> ``[Y; C]`` (2T,B,H),
  ``b`` the summed biases (added per step: cheaper than a pass over ``xp``), the hidden and the
  cell states of every step;
- ``gru_layer(xp (T,B,3H), w_hh (3H,H), b_hh (3H,), h0)`` -> ``Y`` (T,B,H).

With ``reverse=True`` the sequence is processed from the last step to the first and
``Y[t]`` is the state after reading ``x[t]`` (PyTorch's backward direction).  Gate order is
PyTorch's: LSTM (i, f, g, o), GRU (r, z, n) with ``n = tanh(x_n + r * (W_hn h + b_hn))``.

The vjp and jvp rules are written against ``F`` like every other rule, so they also run
on tensors (``create_graph=True``, forward mode, vmap).
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from ..autograd import grad_mode as _gm
from .primitive import NP, Primitive

__all__ = []


# ----------------------------------------------------------------------------- helpers

def _sig(x):
    """The logistic sigmoid through tanh (no overflow; works on arrays and tensors)."""
    return 0.5 * _tanh(0.5 * x) + 0.5


def _tanh(x):
    if isinstance(x, np.ndarray):
        return np.tanh(x)
    from .elementwise import tanh
    return tanh(x)


def _stack(F, items, shape):
    """Stack ``items`` (each of ``shape``) along a new first axis."""
    one = (1,) + tuple(shape)
    return F.call("cat", *[F.reshape(a, one) for a in items], dim=0, sizes=(1,) * len(items))


def _cat(F, items, dim):
    return F.call("cat", *items, dim=dim, sizes=tuple(int(a.shape[dim]) for a in items))


def _prev(F, seq, first, reverse):
    """The state before each step, at each step's position: [first, seq[:-1]] forward,
    [seq[1:], first] in reverse."""
    T, B, H = (int(s) for s in seq.shape)
    first = F.reshape(first, (1, B, H))
    if reverse:
        return _cat(F, [seq[1:], first], 0)
    return _cat(F, [first, seq[:T - 1]], 0)


def _project(F, hprev, w):
    """hprev (T,B,H) @ w^T as one 2-D matmul, reshaped back to (T,B,G)."""
    T, B, H = (int(s) for s in hprev.shape)
    return F.reshape(F.matmul(F.reshape(hprev, (T * B, H)), F.swap_last(w)), (T, B, int(w.shape[0])))


def _weight_grad(F, dz, hprev):
    """sum over t, b of dz[t,b]^T hprev[t,b]: one matmul."""
    T, B, G = (int(s) for s in dz.shape)
    H = int(hprev.shape[2])
    return F.matmul(F.swap_last(F.reshape(dz, (T * B, G))), F.reshape(hprev, (T * B, H)))


def _order(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def _memo(compute, F, g, out, inputs, params, k):
    """Every input's vjp comes from one pass of backpropagation through time: compute it
    for the first input the engine asks about and hand out the rest from a one-entry cache.

    The cache knows the pass by the identity of the cotangent, the output and the inputs
    (held through weak references, so it keeps nothing alive), and forgets each result
    once handed out (a second backward through a retained graph brings a new cotangent)."""
    c = getattr(_CACHE, "entry", None)
    if c is not None and c[0]() is g and c[1]() is out and len(c[2]) == len(inputs) \
            and all(r() is x for r, x in zip(c[2], inputs)) and c[3][k] is not None:
        res = c[3]
    else:
        res = list(compute(F, g, out, *inputs, **params))
        _CACHE.entry = (_ref(g), _ref(out), [_ref(x) for x in inputs], res)
    value, res[k] = res[k], None
    return value


def _ref(x):
    try:
        return weakref.ref(x)
    except TypeError:  # None, Python scalars: compared by identity through a closure
        return lambda: x


_CACHE = threading.local()  # per thread: backward passes in two threads do not mix


def _rule(compute, k):
    def rule(F, g, out, *inputs, **params):
        return _memo(compute, F, g, out, inputs, params, k)
    return rule


# ----------------------------------------------------------------------------- Elman RNN

def _rnn_forward(xp, w, h0, reverse, nonlinearity):
    T = xp.shape[0]
    y = np.empty(xp.shape[:2] + (w.shape[0],), np.result_type(xp, w, h0))
    wt = np.ascontiguousarray(w.T)  # BLAS is ~2x faster on it than on the transposed view
    h = h0
    for t in _order(T, reverse):
        a = np.matmul(h, wt, out=y[t])
        a += xp[t]
        if nonlinearity == "tanh":
            np.tanh(a, out=a)
        else:
            np.maximum(a, 0, out=a)
        h = a
    return y


def _rnn_dact(F, y, nonlinearity):
    if nonlinearity == "tanh":
        return 1 - y * y
    return F.as_mask(y > 0, y)


def _rnn_grads(F, g, out, xp, w, h0, reverse, nonlinearity):
    T, B, H = (int(s) for s in out.shape)
    d = _rnn_dact(F, out, nonlinearity)
    das = [None] * T
    carry = None
    for t in reversed(list(_order(T, reverse))):
        dh = g[t] if carry is None else g[t] + carry
        da = dh * d[t]
        das[t] = da
        carry = F.matmul(da, w)
    da = _stack(F, das, (B, H))
    dw = _weight_grad(F, da, _prev(F, out, h0, reverse))
    return da, dw, carry


def _rnn_tangent(F, out, xp, w, h0, reverse, nonlinearity, txp=None, tw=None, th0=None):
    T, B, H = (int(s) for s in out.shape)
    d = _rnn_dact(F, out, nonlinearity)
    base = txp
    if tw is not None:
        p = _project(F, _prev(F, out, h0, reverse), tw)
        base = p if base is None else base + p
    dh = th0
    res = [None] * T
    for t in _order(T, reverse):
        da = base[t] if base is not None else None
        if dh is not None:
            m = F.matmul(dh, F.swap_last(w))
            da = m if da is None else da + m
        dh = d[t] * da
        res[t] = dh
    return _stack(F, res, (B, H))


_rnn_layer = Primitive(
    "rnn_layer", _rnn_forward,
    vjp=[_rule(_rnn_grads, 0), _rule(_rnn_grads, 1), _rule(_rnn_grads, 2)],
    jvp=[lambda F, t, out, xp, w, h0, reverse, nonlinearity:
         _rnn_tangent(F, out, xp, w, h0, reverse, nonlinearity, txp=t),
         lambda F, t, out, xp, w, h0, reverse, nonlinearity:
         _rnn_tangent(F, out, xp, w, h0, reverse, nonlinearity, tw=t),
         lambda F, t, out, xp, w, h0, reverse, nonlinearity:
         _rnn_tangent(F, out, xp, w, h0, reverse, nonlinearity, th0=t)],
    save_out=True, node_name="RnnLayerBackward0")


# ----------------------------------------------------------------------------- LSTM

def _lstm_forward(xp, w, b, h0, c0, reverse):
    T, B, G = xp.shape
    H = G // 4
    dt = np.result_type(xp, w, h0, c0)
    out = np.empty((2 * T, B, H), dt)
    if b is not None:
        b = b.astype(dt, copy=False)
    acts = _buffer((T, B, G), dt)  # gate activations and tanh(c): kept for the backward pass
    tcs = _buffer((T, B, H), dt)
    # sigmoid(x) = 0.5 tanh(x/2) + 0.5 and tanh(x) = 1 tanh(x) + 0: one tanh for all gates
    scale = np.full(G, 0.5, dt)
    scale[2 * H:3 * H] = 1.0
    shift = scale.copy()
    shift[2 * H:3 * H] = 0.0
    wt = np.ascontiguousarray(w.T)  # BLAS is ~2x faster on it than on the transposed view
    h, c = h0, c0
    for t in _order(T, reverse):
        z = acts[t]
        np.matmul(h, wt, out=z)
        z += xp[t]
        if b is not None:
            z += b
        z *= scale
        np.tanh(z, out=z)
        z *= scale
        z += shift
        cn = out[T + t]
        np.multiply(z[:, H:2 * H], c, out=cn)
        cn += z[:, :H] * z[:, 2 * H:3 * H]
        tc = tcs[t]
        np.tanh(cn, out=tc)
        h = np.multiply(tc, z[:, 3 * H:], out=out[t])
        c = cn
    if _gm.STATE.enabled:
        _stash(out, (acts, tcs))
    return out


def _stash(out: np.ndarray, extra: np.ndarray) -> None:
    """Keep ``extra`` (values the forward computed anyway) for the vjp of the node whose
    output is ``out``, for as long as ``out`` lives."""
    key = id(out)
    _STASH[key] = (weakref.ref(out, lambda _r, key=key: _STASH.pop(key, None)), extra)


def _stashed(out: np.ndarray):
    e = _STASH.get(id(out))
    return e[1] if e is not None and e[0]() is out else None


_STASH: dict = {}
_POOL: dict = {}


def _buffer(shape: tuple, dtype) -> np.ndarray:
    """A scratch array, reused from an earlier call when one of this shape is free: fresh
    multi-megabyte arrays cost page faults on every call."""
    free = _POOL.get((shape, dtype))
    return free.pop() if free else np.empty(shape, dtype)


def _release(*arrays: np.ndarray) -> None:
    """Give scratch arrays back (nothing may use them afterwards); at most two per shape."""
    for a in arrays:
        free = _POOL.setdefault((a.shape, a.dtype), [])
        if len(free) < 2:
            free.append(a)


def _lstm_grads_np(g, out, xp, w, b, h0, c0, reverse):
    """``_lstm_grads`` for the ordinary backward pass, in NumPy with preallocated buffers."""
    T, B, G = xp.shape
    H = G // 4
    Y, C = out[:T], out[T:]
    saved = _stashed(out)
    if saved is None:  # e.g. the forward ran with grad mode off: recompute (one matmul)
        hprev = np.concatenate([h0[None], Y[:-1]]) if not reverse else np.concatenate([Y[1:], h0[None]])
        z = xp + (hprev.reshape(T * B, H) @ w.T).reshape(T, B, G)
        if b is not None:
            z += b
        acts = np.tanh(z * 0.5) * 0.5 + 0.5
        acts[..., 2 * H:3 * H] = np.tanh(z[..., 2 * H:3 * H])
        tcs = np.tanh(C)
    else:
        acts, tcs = saved
    dt = acts.dtype
    i, f, gg, o = acts[..., :H], acts[..., H:2 * H], acts[..., 2 * H:3 * H], acts[..., 3 * H:]
    # the factors of the vjp that do not depend on the incoming gradient, for all steps:
    # dz_i, dz_f, dz_g = dc * k3[:, :, 0..2] and dz_o = dh * ko2; dc += dh * ko
    k3 = _buffer((T, B, 3, H), dt)
    k = k3[:, :, 0]
    np.subtract(1, i, out=k)
    k *= i
    k *= gg
    k = k3[:, :, 1]
    np.subtract(1, f, out=k)
    k *= f
    if reverse:
        k[:-1] *= C[1:]
        k[-1] *= c0
    else:
        k[1:] *= C[:-1]
        k[0] *= c0
    k = k3[:, :, 2]
    np.multiply(gg, gg, out=k)
    np.subtract(1, k, out=k)
    k *= i
    ko2 = np.subtract(1, o, out=_buffer((T, B, H), dt))
    ko2 *= o
    ko2 *= tcs
    ko = np.multiply(tcs, tcs, out=_buffer((T, B, H), dt))
    np.subtract(1, ko, out=ko)
    ko *= o
    dz = np.empty((T, B, 4, H), np.result_type(dt, g))
    gy, gc = g[:T], g[T:]
    wt = np.ascontiguousarray(w.T)
    carry_h = carry_c = None
    for t in reversed(list(_order(T, reverse))):
        dh = gy[t] if carry_h is None else gy[t] + carry_h
        dc = dh * ko[t]
        dc += gc[t]
        if carry_c is not None:
            dc += carry_c
        d = dz[t]
        np.multiply(dc[:, None, :], k3[t], out=d[:, :3])
        np.multiply(dh, ko2[t], out=d[:, 3])
        carry_h = (wt @ d.reshape(B, G).T).T  # = d @ w; BLAS is faster this way round
        carry_c = dc * f[t]
    dz = dz.reshape(T, B, G)
    # dW = sum over steps of dz[t]^T h_prev[t], without building h_prev
    if reverse:
        dw = dz[:-1].reshape(-1, G).T @ Y[1:].reshape(-1, H) + dz[-1].T @ h0
    else:
        dw = dz[1:].reshape(-1, G).T @ Y[:-1].reshape(-1, H) + dz[0].T @ h0
    _release(k3, ko, ko2)
    if saved is not None:  # used up: a second backward (retain_graph) recomputes them
        _STASH.pop(id(out), None)
        _release(acts, tcs)
    db = None if b is None else dz.reshape(T * B, G).sum(0)
    return dz, dw, db, np.ascontiguousarray(carry_h), carry_c


def _lstm_acts(F, out, xp, w, b, h0, c0, reverse):
    T = int(xp.shape[0])
    H = int(w.shape[1])
    Y, C = out[:T], out[T:]
    hprev = _prev(F, Y, h0, reverse)
    cprev = _prev(F, C, c0, reverse)
    z = xp + _project(F, hprev, w)
    if b is not None:
        z = z + b
    i = _sig(z[..., :H])
    f = _sig(z[..., H:2 * H])
    gg = _tanh(z[..., 2 * H:3 * H])
    o = _sig(z[..., 3 * H:])
    return Y, C, hprev, cprev, i, f, gg, o, _tanh(C)


def _lstm_grads(F, g, out, xp, w, b, h0, c0, reverse):
    if F is NP:
        return _lstm_grads_np(g, out, xp, w, b, h0, c0, reverse)
    T, B, G = (int(s) for s in xp.shape)
    H = G // 4
    Y, C, hprev, cprev, i, f, gg, o, tc = _lstm_acts(F, out, xp, w, b, h0, c0, reverse)
    ko = o * (1 - tc * tc)                                   # dc += dh * ko
    k3 = _cat(F, [F.reshape(gg * i * (1 - i), (T, B, 1, H)),  # dz_i, dz_f, dz_g = dc * k3
                  F.reshape(cprev * f * (1 - f), (T, B, 1, H)),
                  F.reshape(i * (1 - gg * gg), (T, B, 1, H))], 2)
    ko2 = tc * o * (1 - o)                                    # dz_o = dh * ko2
    gy, gc = g[:T], g[T:]
    dzs = [None] * T
    carry_h = carry_c = None
    for t in reversed(list(_order(T, reverse))):
        dh = gy[t] if carry_h is None else gy[t] + carry_h
        dc = gc[t] + dh * ko[t]
        if carry_c is not None:
            dc = dc + carry_c
        dz = F.reshape(_cat(F, [F.reshape(dc, (B, 1, H)) * k3[t],
                                F.reshape(dh * ko2[t], (B, 1, H))], 1), (B, G))
        dzs[t] = dz
        carry_h = F.matmul(dz, w)
        carry_c = dc * f[t]
    dz = _stack(F, dzs, (B, G))
    db = None if b is None else F.sum(F.reshape(dz, (T * B, G)), 0)
    return dz, _weight_grad(F, dz, hprev), db, carry_h, carry_c


def _lstm_tangent(F, out, xp, w, b, h0, c0, reverse, txp=None, tw=None, tb=None, th0=None,
                  tc0=None):
    T, B, G = (int(s) for s in xp.shape)
    H = G // 4
    Y, C, hprev, cprev, i, f, gg, o, tc = _lstm_acts(F, out, xp, w, b, h0, c0, reverse)
    base = txp
    if tw is not None:
        p = _project(F, hprev, tw)
        base = p if base is None else base + p
    if tb is not None:
        base = F.expand(tb, (T, B, G)) if base is None else base + tb
    dh, dc = th0, tc0
    hs = [None] * T
    cs = [None] * T
    zero = F.zeros((B, H), Y)
    for t in _order(T, reverse):
        dz = base[t] if base is not None else None
        if dh is not None:
            m = F.matmul(dh, F.swap_last(w))
            dz = m if dz is None else dz + m
        if dz is None:
            dcn = f[t] * dc
        else:
            di = i[t] * (1 - i[t]) * dz[:, :H]
            df = f[t] * (1 - f[t]) * dz[:, H:2 * H]
            dg = (1 - gg[t] * gg[t]) * dz[:, 2 * H:3 * H]
            dcn = di * gg[t] + i[t] * dg + df * cprev[t]
            if dc is not None:
                dcn = dcn + f[t] * dc
        dhn = o[t] * (1 - tc[t] * tc[t]) * dcn
        if dz is not None:
            dhn = dhn + o[t] * (1 - o[t]) * dz[:, 3 * H:] * tc[t]
        dh, dc = dhn, dcn
        hs[t], cs[t] = dh, dc
    hs = [zero if a is None else a for a in hs]
    cs = [zero if a is None else a for a in cs]
    return _stack(F, hs + cs, (B, H))


def _lstm_jvp(which):
    def rule(F, t, out, xp, w, b, h0, c0, reverse):
        return _lstm_tangent(F, out, xp, w, b, h0, c0, reverse, **{which: t})
    return rule


_lstm_layer = Primitive(
    "lstm_layer", _lstm_forward,
    vjp=[_rule(_lstm_grads, k) for k in range(5)],
    jvp=[_lstm_jvp(n) for n in ("txp", "tw", "tb", "th0", "tc0")],
    save_out=True, node_name="LstmLayerBackward0")


# ----------------------------------------------------------------------------- GRU

def _gru_forward(xp, w, b, h0, reverse):
    T, B, G = xp.shape
    H = G // 3
    dt = np.result_type(xp, w, b, h0)
    y = np.empty((T, B, H), dt)
    wt = np.ascontiguousarray(w.T)
    h = h0
    hg = np.empty((B, G), dt)
    for t in _order(T, reverse):
        np.matmul(h, wt, out=hg)
        hg += b
        x = xp[t]
        rz = x[:, :2 * H] + hg[:, :2 * H]
        rz *= 0.5
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        r, z = rz[:, :H], rz[:, H:]
        n = r * hg[:, 2 * H:]
        n += x[:, 2 * H:]
        np.tanh(n, out=n)
        hn = y[t]
        np.subtract(h, n, out=hn)   # h' = n + z (h - n)
        hn *= z
        hn += n
        h = hn
    return y


def _gru_acts(F, out, xp, w, b, h0, reverse):
    H = int(w.shape[1])
    hprev = _prev(F, out, h0, reverse)
    hg = _project(F, hprev, w) + b
    r = _sig(xp[..., :H] + hg[..., :H])
    z = _sig(xp[..., H:2 * H] + hg[..., H:2 * H])
    hn = hg[..., 2 * H:]
    n = _tanh(xp[..., 2 * H:] + r * hn)
    return hprev, r, z, n, hn


def _gru_grads(F, g, out, xp, w, b, h0, reverse):
    T, B, G = (int(s) for s in xp.shape)
    H = G // 3
    hprev, r, z, n, hn = _gru_acts(F, out, xp, w, b, h0, reverse)
    kn = (1 - z) * (1 - n * n)
    kr = kn * hn * r * (1 - r)
    kz = (hprev - n) * z * (1 - z)
    shp = (T, B, 1, H)
    kx = _cat(F, [F.reshape(kr, shp), F.reshape(kz, shp), F.reshape(kn, shp)], 2)
    kh = _cat(F, [F.reshape(kr, shp), F.reshape(kz, shp), F.reshape(kn * r, shp)], 2)
    dhs = [None] * T
    carry = None
    for t in reversed(list(_order(T, reverse))):
        dh = g[t] if carry is None else g[t] + carry
        dhs[t] = dh
        carry = dh * z[t] + F.matmul(F.reshape(F.reshape(dh, (B, 1, H)) * kh[t], (B, G)), w)
    dH = F.reshape(_stack(F, dhs, (B, H)), shp)
    dxp = F.reshape(dH * kx, (T, B, G))
    dhg = F.reshape(dH * kh, (T, B, G))
    return dxp, _weight_grad(F, dhg, hprev), F.sum(F.reshape(dhg, (T * B, G)), 0), carry


def _gru_tangent(F, out, xp, w, b, h0, reverse, txp=None, tw=None, tb=None, th0=None):
    T, B, G = (int(s) for s in xp.shape)
    H = G // 3
    hprev, r, z, n, hn = _gru_acts(F, out, xp, w, b, h0, reverse)
    base_h = None  # tangent of the hidden projection from tw and tb
    if tw is not None:
        base_h = _project(F, hprev, tw)
    if tb is not None:
        base_h = F.expand(tb, (T, B, G)) if base_h is None else base_h + tb
    dh = th0
    res = [None] * T
    zero = F.zeros((B, H), out)
    for t in _order(T, reverse):
        dhg = base_h[t] if base_h is not None else None
        if dh is not None:
            m = F.matmul(dh, F.swap_last(w))
            dhg = m if dhg is None else dhg + m
        dx = txp[t] if txp is not None else None
        if dx is None and dhg is None:
            res[t] = zero
            continue
        if dx is None:
            sx = dhg
            dnn = r[t] * dhg[:, 2 * H:]
        elif dhg is None:
            sx = dx
            dnn = dx[:, 2 * H:]
        else:
            sx = dx + dhg
            dnn = dx[:, 2 * H:] + r[t] * dhg[:, 2 * H:]
        dr = r[t] * (1 - r[t]) * sx[:, :H]
        dz = z[t] * (1 - z[t]) * sx[:, H:2 * H]
        dn = (1 - n[t] * n[t]) * (dnn + dr * hn[t])
        dhn = (1 - z[t]) * dn + dz * (hprev[t] - n[t])
        if dh is not None:
            dhn = dhn + z[t] * dh
        dh = dhn
        res[t] = dh
    return _stack(F, res, (B, H))


def _gru_jvp(which):
    def rule(F, t, out, xp, w, b, h0, reverse):
        return _gru_tangent(F, out, xp, w, b, h0, reverse, **{which: t})
    return rule


_gru_layer = Primitive(
    "gru_layer", _gru_forward,
    vjp=[_rule(_gru_grads, k) for k in range(4)],
    jvp=[_gru_jvp(n) for n in ("txp", "tw", "tb", "th0")],
    save_out=True, node_name="GruLayerBackward0")
