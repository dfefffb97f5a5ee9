"""One SGD step of the anchors' small CNN (batch 64, 1x28x28: conv8-relu-pool-conv16-relu-pool-
linear10, cross-entropy), chainrule beside PyTorch, interleaved step by step in one process
(both single-threaded so neither BLAS pool disturbs the other); prints medians and the ratio.
The issue's target: chainrule at most 1.5x PyTorch's step.

Usage: python bench/cnn.py [--steps N]"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule  # noqa: E402


def make(lib, X, Y):
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(16 * 7 * 7, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x, y = lib.from_numpy(X), lib.from_numpy(Y)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    Y = rng.integers(0, 10, 64)
    systems = {"chainrule": make(chainrule, X, Y)}
    try:
        import torch
        torch.set_num_threads(1)  # (run with OPENBLAS_NUM_THREADS=1 for the same on our side)
        systems["torch"] = make(torch, X, Y)
    except ImportError:
        pass
    times = {k: [] for k in systems}
    for f in systems.values():
        for _ in range(3):
            f()
    for _ in range(args.steps):
        for k, f in systems.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    print("CNN training step (batch 64, 1x28x28), median ms:")
    for k, v in med.items():
        print(f"  {k:10s} {v:7.2f}")
    if "torch" in med:
        r = med["chainrule"] / med["torch"]
        print(f"  chainrule/torch {r:.2f}x   target <= 1.5x   {'MET' if r <= 1.5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
