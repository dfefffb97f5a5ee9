"""Per-example gradients of a small MLP (batch 64, 32 -> 64 -> 10, cross-entropy with one-hot
labels), three ways:
``vmap(grad(loss))``, a Python loop of ``grad(loss)`` over the examples, and (when torch is
installed) torch.func's vmap(grad) beside them. Interleaved in one process; prints medians and
ratios. The issue's target: vmap at least 5x faster than the loop.

Usage: python bench/per_example.py [--reps N]"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule as cr  # noqa: E402
from chainrule.func import grad, vmap  # noqa: E402

B, D, H, C = 64, 32, 64, 10


def make_problem():
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((D, H)).astype(np.float32) * 0.2, np.zeros(H, np.float32),
              rng.standard_normal((H, C)).astype(np.float32) * 0.2, np.zeros(C, np.float32)]
    x = rng.standard_normal((B, D)).astype(np.float32)
    y = np.eye(C, dtype=np.float32)[rng.integers(0, C, B)]  # one-hot labels (torch.func's
    return params, x, y                                     # vmap cannot index by a batched label)


def loss_fn(lib):
    def loss(p, xi, yi):
        w1, b1, w2, b2 = p
        h = (xi @ w1 + b1).relu()
        logits = h @ w2 + b2
        return -(lib.log_softmax(logits, -1) * yi).sum()
    return loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    params, x, y = make_problem()
    cp = tuple(cr.tensor(p) for p in params)
    cx, cy = cr.tensor(x), cr.tensor(y)
    per_example = vmap(grad(loss_fn(cr)), in_dims=(None, 0, 0))
    single = grad(loss_fn(cr))
    systems = {
        "chainrule vmap(grad)": lambda: per_example(cp, cx, cy),
        "chainrule loop of grad": lambda: [single(cp, cx[i], cy[i]) for i in range(B)],
    }
    try:
        import torch
        from torch.func import grad as tgrad, vmap as tvmap
        torch.set_num_threads(1)
        tp = tuple(torch.tensor(p) for p in params)
        tx, ty = torch.tensor(x), torch.tensor(y)
        tper = tvmap(tgrad(loss_fn(torch)), in_dims=(None, 0, 0))
        systems["torch.func vmap(grad)"] = lambda: tper(tp, tx, ty)
        check = [g.numpy() for g in tper(tp, tx, ty)]
        ours = [g.numpy() for g in per_example(cp, cx, cy)]
        err = max(float(np.abs(a - b).max()) for a, b in zip(ours, check))
        print(f"max |chainrule - torch.func| over the per-example gradients: {err:.2e}")
    except ImportError:
        pass
    times = {k: [] for k in systems}
    for f in systems.values():
        f()
    for _ in range(args.reps):
        for k, f in systems.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    print(f"per-example gradients, batch {B}, MLP {D}->{H}->{C}: median ms per batch")
    for k, v in med.items():
        print(f"  {k:26s} {v:8.2f}")
    speedup = med["chainrule loop of grad"] / med["chainrule vmap(grad)"]
    print(f"  vmap speed-up over the loop: {speedup:.1f}x   target >= 5x   "
          f"{'MET' if speedup >= 5 else 'NOT MET'}")
    if "torch.func vmap(grad)" in med:
        print(f"  chainrule vmap / torch.func vmap: {med['chainrule vmap(grad)'] / med['torch.func vmap(grad)']:.2f}x")


if __name__ == "__main__":
    main()
