"""One training step of a 2-layer LSTM (batch 32, sequence 50, input 128, hidden 128):
forward, MSE loss against a fixed target, backward, SGD update (lr 0.01).

chainrule and (when installed) PyTorch run in ONE process, starting from the same weights,
alternated step by step (the order flipped every repetition); the medians and their ratio
are printed. The issue's target: chainrule at most 1.5x PyTorch's step time.

Usage: python bench/lstm.py [--reps N] [--warmup N]"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule as cr  # noqa: E402

T, B, I, H, LAYERS = 50, 32, 128, 128, 2


def _mse(out, y):
    d = out - y
    return (d * d).mean()


def make_chainrule(x: np.ndarray, y: np.ndarray):
    model = cr.nn.LSTM(I, H, num_layers=LAYERS)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    xc, yc = cr.tensor(x), cr.tensor(y)

    def step():
        out, _ = model(xc)
        loss = _mse(out, yc)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())
    return model, step


def make_torch(x: np.ndarray, y: np.ndarray, state: dict):
    import torch
    model = torch.nn.LSTM(I, H, num_layers=LAYERS)
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def step():
        out, _ = model(xt)
        loss = _mse(out, yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true", help="time chainrule alone")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    y = rng.standard_normal((T, B, H)).astype(np.float32) * 0.1
    cr.manual_seed(0)
    model, cr_step = make_chainrule(x, y)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    try:
        if args.no_torch:
            raise ImportError
        t_step = make_torch(x, y, state)
        import torch
        threads = torch.get_num_threads()
    except ImportError:
        t_step, threads = None, None
    systems = [("chainrule", cr_step)] + ([("torch", t_step)] if t_step else [])
    first = {}
    for name, fn in systems:
        first[name] = fn()
        for _ in range(args.warmup - 1):
            fn()
    if t_step:
        print(f"first-step losses (same weights): chainrule {first['chainrule']:.6f}, "
              f"torch {first['torch']:.6f}")
    times = {name: [] for name, _ in systems}
    for r in range(args.reps):
        order = systems if r % 2 == 0 else systems[::-1]
        for name, fn in order:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    print(f"2-layer LSTM step (T={T}, B={B}, I={I}, H={H}), median of {args.reps}:")
    for k, v in med.items():
        print(f"  {k:10s} {v:8.2f} ms")
    if t_step:
        print(f"  ratio chainrule/torch: {med['chainrule'] / med['torch']:.2f}x "
              f"(target <= 1.5x; torch threads {threads})")


if __name__ == "__main__":
    main()
