"""A short tour of chainrule that reproduces every number in the seed documents.

Run it with ``python -m chainrule`` (or ``python -m chainrule --tour``). Each check is
printed beside the value the seed document (or a hand derivation from it) expects,
with OK or MISMATCH; the exit status is non-zero if anything does not match.

Each seed has one function here, ``seed_00N(say=print)``, that runs the seed's example,
narrates it through ``say`` and returns a list of :class:`Row` ``(name, got, expected,
ok)``. Tests call these functions directly (see tests/test_tour.py). The expected values
are written out by hand from the seed documents: they are never computed by chainrule.
"""
from __future__ import annotations

import sys
import time
import traceback
import warnings
from typing import Callable, List, NamedTuple

import numpy as np

import chainrule as torch  # the point of the library: PyTorch code, chainrule underneath


class Row(NamedTuple):
    """One check: what chainrule gave, what the seed says, and whether they agree."""
    name: str
    got: object
    expected: object
    ok: bool


def _quiet(*args, **kwargs):
    pass


def _optional(name):
    """A submodule that later issues add (chainrule.func, chainrule.nn), or None."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _Rows(list):
    """A list of rows that also hands each row to ``say`` as it is added, so the tour
    prints every check right after the narration it belongs to."""

    def __init__(self, say):
        super().__init__()
        self._say = say

    def append(self, row):
        super().append(row)
        self._say(row)


def _same(name, got, expected) -> Row:
    """Exact check: ``got`` and ``expected`` are compared as they print (reprs)."""
    return Row(name, got, expected, got == expected)


def _close(name, got, expected, rtol) -> Row:
    """Float check: ``got`` within ``rtol`` of ``expected`` (both plain floats)."""
    ok = bool(np.isfinite(got)) and abs(got - expected) <= rtol * max(abs(expected), 1e-300)
    return Row(name, f"{got:.10g}", f"{expected:.10g} (rtol {rtol:g})", ok)


def _at_most(name, got, bound) -> Row:
    ok = bool(np.isfinite(got)) and got <= bound
    return Row(name, f"{got:.3g}", f"<= {bound:g}", ok)


# --------------------------------------------------------------------------- seed 002
def seed_002(say: Callable = _quiet) -> List[Row]:
    """y = 2x, z = y**2 at x = 1: z.backward() gives dz/dx = 8x = 8; the mistaken
    x.backward(z) only scales dx/dx = 1 by z = 4, and chainrule warns about it."""
    rows = _Rows(say)
    say("y = 2*x, z = y**2 with x = torch.ones(1, requires_grad=True)")
    x = torch.ones(1, requires_grad=True)
    y = 2 * x
    z = y ** 2
    z.backward()
    say("  z.backward(); print(x.grad)                 # dz/dx = 2y * 2 = 8x")
    rows.append(_same("x.grad after z.backward()", repr(x.grad), "tensor([8.])"))

    x = torch.ones(1, requires_grad=True)
    y = 2 * x
    z = y ** 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x.backward(z)
    say("  x.backward(z); print(x.grad)                # the mistake: z * dx/dx = 4 * 1")
    rows.append(_same("x.grad after x.backward(z)", repr(x.grad), "tensor([4.])"))
    texts = [str(w.message) for w in caught]
    hint = [t for t in texts if "z.backward()" in t]
    for t in hint[:1]:
        say("  chainrule warns: " + t)
    rows.append(_same("x.backward(z) warns 'did you mean z.backward()?'", bool(hint), True))
    say("  (the seed's F.linear example needs chainrule.nn, which comes in a later issue)")
    return rows


# --------------------------------------------------------------------------- seed 003
def seed_003(say: Callable = _quiet) -> List[Row]:
    """d2l.ai's autograd chapter: y = 2 * x.x with x = arange(4.) gives grad 4x."""
    rows = _Rows(say)
    x = torch.arange(4.0)
    say("x = torch.arange(4.0); x.requires_grad_(True)")
    x.requires_grad_(True)
    rows.append(_same("x", repr(x), "tensor([0., 1., 2., 3.], requires_grad=True)"))
    rows.append(_same("x.grad before backward", repr(x.grad), "None"))
    y = 2 * torch.dot(x, x)
    say("y = 2 * torch.dot(x, x)")
    rows.append(_same("y", repr(y), "tensor(28., grad_fn=<MulBackward0>)"))
    y.backward()
    say("y.backward()                                  # dy/dx = 4x")
    rows.append(_same("x.grad", repr(x.grad), "tensor([ 0.,  4.,  8., 12.])"))
    rows.append(_same("x.grad == 4 * x", bool((x.grad == 4 * x).all()), True))

    func = _optional("chainrule.func")
    if func is not None and hasattr(func, "grad"):
        say("JAX style: chainrule.func.grad(lambda x: 2 * torch.dot(x, x))(x)")
        g = func.grad(lambda t: 2 * torch.dot(t, t))(torch.arange(4.0))
        rows.append(_same("func.grad(f)(x)", repr(g), "tensor([ 0.,  4.,  8., 12.])"))
    else:
        say("(the JAX-style chainrule.func.grad transform is not in this build yet)")
    return rows


# --------------------------------------------------------------------------- seed 001
def seed_001(say: Callable = _quiet) -> List[Row]:
    """k = (i + h) * i, a residual link: i reaches k by two paths, and the two
    contributions add (dk/di = j + i = 2i + h)."""
    rows = _Rows(say)
    say("i = tensor(2., requires_grad=True); h = tensor(3., requires_grad=True)")
    say("j = i + h; k = j * i                          # k = (i + h) * i")
    i = torch.tensor(2.0, requires_grad=True)
    h = torch.tensor(3.0, requires_grad=True)
    j = i + h
    k = j * i
    rows.append(_same("k", repr(k), "tensor(10., grad_fn=<MulBackward0>)"))
    rows.append(_same("j.grad_fn", j.grad_fn.name() if j.grad_fn is not None else None,
                      "AddBackward0"))
    rows.append(_same("k.grad_fn", k.grad_fn.name() if k.grad_fn is not None else None,
                      "MulBackward0"))
    rows.append(_same("i.is_leaf (made by the user)", i.is_leaf, True))
    rows.append(_same("k.is_leaf (made by an op)", k.is_leaf, False))
    rows.append(_same("k.requires_grad", k.requires_grad, True))
    c = torch.tensor(1.0)
    rows.append(_same("tensor(1.).is_leaf (requires_grad=False)", c.is_leaf, True))
    d = k.detach()
    rows.append(_same("k.detach()", repr(d), "tensor(10.)"))
    rows.append(_same("k.detach().is_leaf", d.is_leaf, True))
    rows.append(_same("k.detach().requires_grad", d.requires_grad, False))
    rows.append(_same("k.detach().grad_fn", repr(d.grad_fn), "None"))
    rows.append(_same("k.data", repr(k.data), "tensor(10.)"))

    # the two paths into i, each on its own: hold the other path constant with detach()
    i1 = torch.tensor(2.0, requires_grad=True)
    ((i1 + 3.0).detach() * i1).backward()
    say("path 1, k = j * i with j held constant: dk/di = j = 5")
    rows.append(_same("direct path: dk/di", repr(i1.grad), "tensor(5.)"))
    i2 = torch.tensor(2.0, requires_grad=True)
    ((i2 + 3.0) * i2.detach()).backward()
    say("path 2, through j = i + h: dk/dj * dj/di = i * 1 = 2")
    rows.append(_same("path through j: dk/dj * dj/di", repr(i2.grad), "tensor(2.)"))
    k.backward()
    say("k.backward(): both paths add, dk/di = 5 + 2 = 2i + h = 7; dk/dh = i = 2")
    rows.append(_same("i.grad (two paths added)", repr(i.grad), "tensor(7.)"))
    rows.append(_same("h.grad", repr(h.grad), "tensor(2.)"))

    # non-scalar output: backward(gradient) is the backward of sum(loss * gradient)
    say("vector loss = x**2, x = [1, 2, 3], gradient = [1, 0.5, -2]:")
    say("  loss.backward(gradient) == torch.sum(loss * gradient).backward() == 2*x*gradient")
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g = torch.tensor([1.0, 0.5, -2.0])
    try:
        (x ** 2).backward()
        raised = "no error"
    except RuntimeError as e:
        raised = "RuntimeError"
        say("  loss.backward() without gradient: RuntimeError: " + str(e).splitlines()[0])
    rows.append(_same("non-scalar loss.backward() without gradient", raised, "RuntimeError"))
    x.grad = None
    (x ** 2).backward(g)
    rows.append(_same("loss.backward(gradient)", repr(x.grad), "tensor([  2.,   2., -12.])"))
    x2 = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    torch.sum((x2 ** 2) * g).backward()
    rows.append(_same("sum(loss * gradient).backward()", repr(x2.grad),
                      "tensor([  2.,   2., -12.])"))
    return rows


# --------------------------------------------------------------------------- seed 004
def seed_004(say: Callable = _quiet) -> List[Row]:
    """Back-propagation by hand (checked in OneFlow): y1 = w1*x + b1, y2 = y1*w2,
    y3 = 2*y2, MSE loss against label 500, one SGD step with lr = 0.005."""
    rows = _Rows(say)
    say("w1 = 10, b1 = 1, w2 = 20, x = 1, label = 500; y1 = w1*x + b1, y2 = y1*w2, y3 = 2*y2")
    w1 = torch.tensor(10.0, requires_grad=True)
    b1 = torch.tensor(1.0, requires_grad=True)
    w2 = torch.tensor(20.0, requires_grad=True)
    x = torch.tensor(1.0)
    label = torch.tensor(500.0)
    params = {"w1": w1, "b1": b1, "w2": w2}
    mse_loss = torch.nn.MSELoss()  # as in the seed
    optimizer = torch.optim.SGD(list(params.values()), lr=0.005)

    y3 = 2 * ((w1 * x + b1) * w2)
    loss = mse_loss(y3, label)
    rows.append(_same("loss = (440 - 500)**2", f"{loss.item():g}", "3600"))
    for n, p in params.items():
        rows.append(_same(f"{n}.grad before backward()", repr(p.grad), "None"))
    loss.backward()
    say("loss.backward()   # dloss/dy3 = 2(y3 - 500) = -120; w1: -120*2*w2*x; b1: -120*2*w2;"
        " w2: -120*2*y1")
    for n, want in (("w1", "tensor(-4800.)"), ("b1", "tensor(-4800.)"), ("w2", "tensor(-2640.)")):
        rows.append(_same(f"{n}.grad", repr(params[n].grad), want))
    for n, want in (("w1", "tensor(10., requires_grad=True)"),
                    ("b1", "tensor(1., requires_grad=True)"),
                    ("w2", "tensor(20., requires_grad=True)")):
        rows.append(_same(f"{n} after backward()", repr(params[n]), want))

    say("optimizer = optim.SGD(params, lr=0.005); optimizer.step()")
    optimizer.step()
    for n, want in (("w1", "tensor(34., requires_grad=True)"),
                    ("b1", "tensor(25., requires_grad=True)"),
                    ("w2", "tensor(33.2000, requires_grad=True)")):
        rows.append(_same(f"{n} after step()", repr(params[n]), want))
    # the float32 value PyTorch gives: 20 - 0.005 * (-2640) rounded to float32
    want_w2 = float(np.float32(20.0) - np.float32(np.float32(0.005) * np.float32(-2640.0)))
    rows.append(_same("w2.item() after step() (float32)", w2.item(), want_w2))
    for n, want in (("w1", "tensor(-4800.)"), ("b1", "tensor(-4800.)"), ("w2", "tensor(-2640.)")):
        rows.append(_same(f"{n}.grad after step()", repr(params[n].grad), want))
    say("optimizer.zero_grad(set_to_none=False)   # OneFlow zeroes in place; PyTorch 2's default "
        "(set_to_none=True) would leave None")
    optimizer.zero_grad(set_to_none=False)
    for n in params:
        rows.append(_same(f"{n}.grad after zero_grad()", repr(params[n].grad), "tensor(0.)"))
    rows.extend(_seed_004_conv(say))
    return rows


def _seed_004_conv(say: Callable) -> List[Row]:
    """Part 2: Conv2d(1, 1, (2, 2), bias=False) -> AvgPool2d((2, 2)) -> MSELoss on a 1x1x3x3
    input, the gradient against the hand derivation: with z the pooled output (the mean of
    the four conv outputs), dloss/dw[p, q] = 2 (z - label) * mean over the four windows of
    x[i + p, j + q]."""
    rows = _Rows(say)
    say("Conv2d(1, 1, (2, 2), bias=False) -> AvgPool2d((2, 2)) -> MSELoss, the seed's initial w")
    conv = torch.nn.Conv2d(1, 1, (2, 2), bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[0.2621, -0.2583], [-0.1751, -0.0839]]]]))
    x = torch.arange(9.0).reshape(1, 1, 3, 3) / 9
    label = torch.tensor([[[[0.5]]]])
    model = torch.nn.Sequential(conv, torch.nn.AvgPool2d((2, 2)))
    loss = torch.nn.MSELoss()(model(x), label)
    loss.backward()
    xs, w = x.numpy()[0, 0].astype(np.float64), conv.weight.detach().numpy()[0, 0].astype(np.float64)
    z = np.mean([np.sum(xs[i:i + 2, j:j + 2] * w) for i in range(2) for j in range(2)])
    hand = np.array([[2 * (z - 0.5) * np.mean([xs[i + p, j + q] for i in range(2) for j in range(2)])
                      for q in range(2)] for p in range(2)])
    got = conv.weight.grad.numpy()[0, 0]
    say(f"  w.grad = {np.array2string(got, precision=5)}, by hand {np.array2string(hand, precision=5)}")
    rows.append(_same("conv weight gradient = hand derivation (to 1e-6)",
                      bool(np.allclose(got, hand, atol=1e-6)), True))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.005)
    optimizer.step()
    rows.append(_same("w after step() = w - 0.005 * grad (to 1e-6)",
                      bool(np.allclose(conv.weight.detach().numpy()[0, 0], w - 0.005 * hand, atol=1e-6)),
                      True))
    return rows


# --------------------------------------------------------------------------- seed 000
N, D_IN, H, D_OUT = 64, 1000, 100, 10


def _numpy_grads(x, y, w1, w2):
    """The seed's hand-written backprop, verbatim."""
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h_relu = grad_y_pred.dot(w2.T)
    grad_h = grad_h_relu.copy()
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    return loss, grad_w1, grad_w2


def _chainrule_grads(xt, yt, w1t, w2t):
    loss = (xt.mm(w1t).clamp(min=0).mm(w2t) - yt).pow(2).sum()
    loss.backward()
    return loss


def seed0_data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D_IN)).astype(dtype)
    y = rng.standard_normal((N, D_OUT)).astype(dtype)
    w1 = rng.standard_normal((D_IN, H)).astype(dtype)
    w2 = rng.standard_normal((H, D_OUT)).astype(dtype)
    return x, y, w1, w2


def _rel(a, b):
    """Normwise relative difference max|a - b| / max|b|."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / np.max(np.abs(b)))


def seed_000(say: Callable = _quiet, steps: int = 5) -> List[Row]:
    """Seed 000's two-layer network (N=64, D_in=1000, H=100, D_out=10): chainrule's
    reverse mode gives the seed's hand-derived NumPy gradients, and trains the same."""
    rows = _Rows(say)
    lr = 1e-6
    say(f"two-layer net N={N}, D_in={D_IN}, H={H}, D_out={D_OUT}: "
        "loss = ((relu(x @ w1) @ w2 - y)**2).sum()")
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        tname = np.dtype(dtype).name
        x, y, w1, w2 = seed0_data(dtype)
        loss_np, g1_np, g2_np = _numpy_grads(x, y, w1, w2)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        w1t = torch.tensor(w1, requires_grad=True)
        w2t = torch.tensor(w2, requires_grad=True)
        loss_t = _chainrule_grads(xt, yt, w1t, w2t)
        rows.append(_same(f"{tname}: dtype of w1.grad", str(w1t.grad.dtype).split(".")[-1], tname))
        rows.append(_close(f"{tname}: loss", loss_t.item(), float(loss_np), tol))
        r1, r2 = _rel(w1t.grad.numpy(), g1_np), _rel(w2t.grad.numpy(), g2_np)
        say(f"  {tname}: max relative difference to the hand-written gradients: "
            f"w1 {r1:.2e}, w2 {r2:.2e}")
        rows.append(_at_most(f"{tname}: grad_w1 vs NumPy, max rel diff", r1, tol))
        rows.append(_at_most(f"{tname}: grad_w2 vs NumPy, max rel diff", r2, tol))

    # train a few steps both ways from the same start
    say(f"train {steps} SGD steps (lr={lr:g}) both ways from the same float64 start:")
    x, y, w1, w2 = seed0_data(np.float64)
    w1n, w2n = w1.copy(), w2.copy()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    w1t = torch.tensor(w1, requires_grad=True)
    w2t = torch.tensor(w2, requires_grad=True)
    for step in range(steps):
        loss_np, g1, g2 = _numpy_grads(x, y, w1n, w2n)
        w1n -= lr * g1
        w2n -= lr * g2
        loss_t = _chainrule_grads(xt, yt, w1t, w2t)
        with torch.no_grad():
            w1t -= lr * w1t.grad
            w2t -= lr * w2t.grad
        w1t.grad = None
        w2t.grad = None
        say(f"  step {step}: numpy loss {float(loss_np):.6e}   chainrule loss {loss_t.item():.6e}")
        rows.append(_close(f"training step {step}: loss", loss_t.item(), float(loss_np), 1e-10))
    rows.append(_at_most("weights after training, max rel diff to NumPy",
                         max(_rel(w1t.detach().numpy(), w1n), _rel(w2t.detach().numpy(), w2n)),
                         1e-10))
    say("  (speed against the NumPy step and PyTorch: python bench/run.py)")
    rows.extend(_seed_000_modes(say))
    return rows


def _seed_000_modes(say: Callable) -> List[Row]:
    """The seed's question, why reverse mode: one reverse pass gives the gradient for all
    1,000 entries of w2 at once; forward mode gives one directional derivative per pass."""
    import logging

    from .autograd import forward_ad
    from .func import jacobian
    rows = _Rows(say)
    x, y, w1, w2 = seed0_data(np.float64)
    xt, yt, w1t = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w1)

    def loss_of(w2_):
        return ((xt.mm(w1t).clamp(min=0).mm(w2_) - yt) ** 2).sum()

    w2t = torch.tensor(w2, requires_grad=True)
    loss_of(w2t).backward()
    v = torch.from_numpy(np.random.default_rng(1).standard_normal(w2.shape))
    with forward_ad.dual_level():
        tangent = forward_ad.unpack_dual(loss_of(forward_ad.make_dual(torch.from_numpy(w2), v))).tangent
    want = float((w2t.grad * v).sum())
    say(f"forward mode, one pass along a direction v: d loss . v = {tangent.item():.6e} "
        f"(reverse mode's gradient . v = {want:.6e})")
    rows.append(_close("forward-mode jvp = gradient . v", tangent.item(), want, 1e-10))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("chainrule.func")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        jac = jacobian(loss_of, torch.from_numpy(w2), mode="auto")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    chosen = "reverse" if any("reverse mode" in r.getMessage() for r in records) else "forward"
    say(f"jacobian(loss, w2, mode='auto'): {w2.size} inputs, 1 output -> {chosen} mode")
    rows.append(_same("jacobian(mode='auto') picks, for 1000 inputs and 1 output", chosen, "reverse"))
    rows.append(_at_most("its result vs loss.backward()'s w2.grad, max rel diff",
                         _rel(jac.numpy(), w2t.grad.numpy()), 1e-12))
    return rows


SEEDS = [
    ("seed 002: z.backward() versus the mistaken x.backward(z)", seed_002),
    ("seed 003: y = 2 x.x, the d2l.ai autograd chapter", seed_003),
    ("seed 001: the recorded graph, and two paths into one leaf", seed_001),
    ("seed 004: back-propagation by hand, one SGD step", seed_004),
    ("seed 000: the two-layer NumPy network, by autograd", seed_000),
]


def _fmt(v) -> str:
    return v if isinstance(v, str) else repr(v)


def run_tour(out=sys.stdout) -> int:
    """Run every seed, print each check beside its expected value; return the number
    of mismatches (a seed that raises counts as one)."""
    def say(*a):
        if len(a) == 1 and isinstance(a[0], Row):
            r = a[0]
            print(f"  {'OK' if r.ok else 'MISMATCH':8}  {r.name:46} {_fmt(r.got):38} "
                  f"expected {_fmt(r.expected)}", file=out)
        else:
            print(*a, file=out)

    say("chainrule tour: every number in the seed documents, beside the value expected")
    say("(import chainrule as torch; all checks are against values written in the seeds)")
    bad = total = 0
    t_start = time.perf_counter()
    for title, fn in SEEDS:
        say("")
        say("== " + title)
        try:
            rows = fn(say)
        except Exception:  # report it and go on: the tour should show everything it can
            say("  MISMATCH  the example raised:")
            say("  " + traceback.format_exc().rstrip().replace("\n", "\n  "))
            bad += 1
            total += 1
            continue
        total += len(rows)
        bad += sum(not r.ok for r in rows)
    say("")
    took = time.perf_counter() - t_start
    if bad:
        say(f"{bad} of {total} checks MISMATCH ({took:.1f} s)")
    else:
        say(f"all {total} checks OK ({took:.1f} s)")
    return bad


def main(argv=None) -> int:
    return 1 if run_tour() else 0


if __name__ == "__main__":
    sys.exit(main())
