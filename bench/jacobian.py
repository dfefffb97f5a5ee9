"""Jacobians by forward and reverse mode: chainrule.func.jacobian beside torch.func.

    python bench/jacobian.py [--reps 7] [--no-torch]

Two functions, both a tanh layer ``tanh(W @ x + b)`` in float64:

- wide:   10 inputs -> 1000 outputs (forward mode needs 10 jvps, reverse mode 1000 vjps)
- narrow: 1000 inputs -> 10 outputs (forward mode needs 1000 jvps, reverse mode 10 vjps)

For each, chainrule's ``jacobian(f, x, mode=...)`` in the three modes (auto, forward,
reverse) and torch.func's ``jacfwd`` / ``jacrev`` (which batch the rows with vmap) run
in ONE process, alternated call by call (the order rotated every repetition); medians
are printed with ratios.  The point of ``mode="auto"``: it should time like the faster
of forward and reverse on both shapes.  Nothing is asserted on time; the results are
checked to agree.

chainrule computes Jacobian rows in a Python loop (``chainrule.func.transforms._map_rows``)
until vmap batches them; torch.func uses vmap, so the torch columns show what batching
buys.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a clone without installing
    sys.path.insert(0, str(ROOT))

import chainrule as cr  # noqa: E402
from chainrule.func import jacobian  # noqa: E402


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _problem(n_in: int, n_out: int, seed: int):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n_out, n_in)) / np.sqrt(n_in)
    b = rng.normal(size=n_out) * 0.1
    x = rng.normal(size=n_in)
    return W, b, x


def _candidates(W, b, x, use_torch: bool) -> dict:
    Wc, bc, xc = (cr.tensor(a) for a in (W, b, x))
    f_cr = lambda x: (Wc @ x + bc).tanh()  # noqa: E731
    runs = {
        "chainrule auto": lambda: jacobian(f_cr, xc),
        "chainrule forward": lambda: jacobian(f_cr, xc, mode="forward"),
        "chainrule reverse": lambda: jacobian(f_cr, xc, mode="reverse"),
    }
    if use_torch:
        import torch
        from torch.func import jacfwd, jacrev
        Wt, bt, xt = (torch.tensor(a) for a in (W, b, x))
        f_t = lambda x: (Wt @ x + bt).tanh()  # noqa: E731
        runs["torch.func jacfwd"] = lambda: jacfwd(f_t)(xt)
        runs["torch.func jacrev"] = lambda: jacrev(f_t)(xt)
    return runs


def _as_np(J) -> np.ndarray:
    return J.detach().numpy() if hasattr(J, "detach") and not isinstance(J, cr.Tensor) \
        else np.asarray(J._data)


def bench(name: str, n_in: int, n_out: int, reps: int, use_torch: bool) -> dict:
    W, b, x = _problem(n_in, n_out, seed=n_in)
    runs = _candidates(W, b, x, use_torch)
    h = np.tanh(W @ x + b)
    expected = (1 - h ** 2)[:, None] * W
    for label, fn in runs.items():  # warm up, and check every system gives the Jacobian
        np.testing.assert_allclose(_as_np(fn()), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=label)
    times = {label: [] for label in runs}
    labels = list(runs)
    for r in range(reps):
        order = labels[r % len(labels):] + labels[:r % len(labels)]
        for label in order:
            t0 = time.perf_counter()
            runs[label]()
            times[label].append(time.perf_counter() - t0)
    med = {label: statistics.median(ts) for label, ts in times.items()}
    print(f"\n{name}: {n_in} inputs -> {n_out} outputs, float64, median of {reps}")
    fwd, rev = med["chainrule forward"], med["chainrule reverse"]
    best = min(fwd, rev)
    for label in labels:
        extra = ""
        if label == "chainrule auto":
            extra = f"  auto / best chainrule mode = {med[label] / best:.2f}"
        elif label.startswith("chainrule"):
            extra = f"  / best chainrule mode = {med[label] / best:.2f}"
        print(f"  {label:<20} {med[label] * 1e3:10.2f} ms{extra}")
    print(f"  forward / reverse = {fwd / rev:.3g}  (auto should pick the smaller)")
    if use_torch:
        tf, tr = med["torch.func jacfwd"], med["torch.func jacrev"]
        print(f"  chainrule auto / torch best = {med['chainrule auto'] / min(tf, tr):.2f}; "
              f"chainrule forward / torch jacfwd = {fwd / tf:.2f}; "
              f"chainrule reverse / torch jacrev = {rev / tr:.2f}")
    return med


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions per system")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = ap.parse_args(argv)
    use_torch = _have_torch() and not args.no_torch
    if use_torch:
        import torch
        torch.set_num_threads(1)
    bench("wide", 10, 1000, args.reps, use_torch)
    bench("narrow", 1000, 10, args.reps, use_torch)


if __name__ == "__main__":
    main()
