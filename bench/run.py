"""chainrule's benchmark runner: chainrule beside PyTorch eager and hand-written NumPy.

    python bench/run.py [--quick] [--json PATH]

(a) op chain: 300 small elementwise ops (x*0.9, x+0.1, tanh) on a 16-element float32
    vector, forward and backward, in microseconds per op: chainrule, torch (one thread)
    and the NumPy forward-only floor. All in this process, the systems alternated call
    by call (the order flipped every repetition), medians reported.
(b) seed 000's network (64x1000 -> 100 -> 10, float32, loss = sum((relu(x@w1)@w2 - y)**2),
    SGD lr 1e-6 with w -= lr*grad under no_grad and grads set to None), 500 training
    steps: chainrule, hand-written NumPy backprop, torch. These use a BLAS thread pool,
    so each system runs in a process of its own and the processes are alternated over
    several rounds; each process times every step, and the median over the rounds of
    each process's median step time is reported (the mean beside it).

Targets (issue 2): (a) chainrule <= 0.7x torch per op; (b) chainrule <= 1.15x the NumPy
step. torch is optional: without it its columns are skipped. Compare ratios taken in
one run, never lone times: the machines are noisy.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a clone without installing
    sys.path.insert(0, str(ROOT))

K = 300                       # ops in the chain
N, D_IN, H, D_OUT = 64, 1000, 100, 10
LR = 1e-6
TARGET_OPS = 0.7              # chainrule / torch, per op
TARGET_MLP = 1.15             # chainrule / numpy, per step


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- (a) op chain
def _chain(x, tanh):
    for _ in range(K // 3):
        x = x * 0.9
        x = x + 0.1
        x = tanh(x)
    return x


def op_chain_runners(with_torch: bool):
    x0 = np.linspace(-1, 1, 16).astype(np.float32)
    runners = {}

    def numpy_run():  # forward only, no graph: the floor
        return _chain(x0, np.tanh).sum()
    runners["numpy"] = numpy_run

    import chainrule as cr

    def chainrule_run():
        x = cr.from_numpy(x0).requires_grad_()
        _chain(x, cr.tanh).sum().backward()
        return x.grad
    runners["chainrule"] = chainrule_run

    if with_torch:
        import torch
        torch.set_num_threads(1)

        def torch_run():
            x = torch.from_numpy(x0).requires_grad_()
            _chain(x, torch.tanh).sum().backward()
            return x.grad
        runners["torch"] = torch_run
    # sanity: the same gradient from both autograd systems
    if with_torch:
        g_cr = np.asarray(runners["chainrule"]())
        g_t = runners["torch"]().numpy()
        np.testing.assert_allclose(g_cr, g_t, rtol=1e-4, atol=1e-6)
    return runners


def bench_op_chain(reps: int, with_torch: bool) -> dict:
    runners = op_chain_runners(with_torch)
    names = list(runners)
    for _ in range(5):
        for n in names:
            runners[n]()
    times = {n: [] for n in names}
    clock = time.perf_counter
    for rep in range(reps):
        order = names if rep % 2 == 0 else names[::-1]
        for n in order:
            fn = runners[n]
            t0 = clock()
            fn()
            times[n].append(clock() - t0)
    per_op = {n: statistics.median(ts) / K * 1e6 for n, ts in times.items()}
    return {"reps": reps, "us_per_op": per_op}


# --------------------------------------------------------------------------- (b) seed 000 net
def _mlp_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D_IN)).astype(np.float32)
    y = rng.standard_normal((N, D_OUT)).astype(np.float32)
    w1 = rng.standard_normal((D_IN, H)).astype(np.float32)
    w2 = rng.standard_normal((H, D_OUT)).astype(np.float32)
    return x, y, w1, w2


def _mlp_step_fn(system: str, torch_threads: int):
    x0, y0, w10, w20 = _mlp_data()
    if system == "numpy":
        x, y, w1, w2 = x0, y0, w10.copy(), w20.copy()

        def step():
            nonlocal w1, w2  # the updates below are in place (ndarray.__isub__)
            h = x.dot(w1)
            h_relu = np.maximum(h, 0)
            y_pred = h_relu.dot(w2)
            loss = np.square(y_pred - y).sum()
            g = 2.0 * (y_pred - y)
            gw2 = h_relu.T.dot(g)
            gh = g.dot(w2.T)
            gh[h < 0] = 0
            gw1 = x.T.dot(gh)
            w1 -= LR * gw1
            w2 -= LR * gw2
            return float(loss)
        return step
    if system == "chainrule":
        import chainrule as lib
    elif system == "torch":
        import torch as lib
        lib.set_num_threads(torch_threads)
    else:
        raise SystemExit("unknown system " + system)
    x, y = lib.from_numpy(x0), lib.from_numpy(y0)
    w1 = lib.from_numpy(w10.copy()).requires_grad_()
    w2 = lib.from_numpy(w20.copy()).requires_grad_()

    def step():
        nonlocal w1, w2  # the updates below are in place (Tensor.__isub__)
        loss = (x.mm(w1).relu().mm(w2) - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            w1 -= LR * w1.grad
            w2 -= LR * w2.grad
        w1.grad = None
        w2.grad = None
        return loss
    return step


def mlp_worker(system: str, steps: int, torch_threads: int) -> dict:
    step = _mlp_step_fn(system, torch_threads)
    for _ in range(20):
        step()
    clock = time.perf_counter
    times = []
    t_all = clock()
    for _ in range(steps):
        t0 = clock()
        loss = step()
        times.append(clock() - t0)
    mean = (clock() - t_all) / steps
    # the median step is robust to the stalls a shared 2-core machine throws in
    return {"system": system, "us_per_step": statistics.median(times) * 1e6,
            "us_per_step_mean": mean * 1e6, "final_loss": float(loss)}


def bench_mlp(rounds: int, steps: int, with_torch: bool, torch_threads: int) -> dict:
    systems = ["numpy", "chainrule"] + (["torch"] if with_torch else [])
    runs = {s: [] for s in systems}
    means = {s: [] for s in systems}
    losses = {}
    for r in range(rounds):
        order = systems if r % 2 == 0 else systems[::-1]
        for s in order:
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worker-mlp", s,
                 "--steps", str(steps), "--torch-threads", str(torch_threads)],
                capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise SystemExit(f"worker {s} failed:\n{proc.stdout}\n{proc.stderr}")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            runs[s].append(res["us_per_step"])
            means[s].append(res["us_per_step_mean"])
            losses[s] = res["final_loss"]
    return {"rounds": rounds, "steps": steps, "torch_threads": torch_threads if with_torch else None,
            "us_per_step": {s: statistics.median(v) for s, v in runs.items()},
            "us_per_step_mean": {s: statistics.median(v) for s, v in means.items()},
            "us_per_step_all": runs, "us_per_step_mean_all": means, "final_loss": losses}


# --------------------------------------------------------------------------- report
def _machine() -> dict:
    info = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                            "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                            "MKL_NUM_THREADS") if k in os.environ},
    }
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


def _verdict(ratio, target):
    return "MET" if ratio <= target else "NOT MET"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (fewer repetitions)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    ap.add_argument("--only", choices=["ops", "mlp"], help="run one of the two benchmarks")
    ap.add_argument("--reps", type=int, help="(a) repetitions per system")
    ap.add_argument("--rounds", type=int, help="(b) processes per system")
    ap.add_argument("--steps", type=int, help="(b) training steps per process")
    ap.add_argument("--torch-threads", type=int, default=2,
                    help="(b) torch.set_num_threads (default 2, as anchors/seed0_mlp.py)")
    ap.add_argument("--worker-mlp", metavar="SYSTEM", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker_mlp:
        print(json.dumps(mlp_worker(a.worker_mlp, a.steps or 500, a.torch_threads)))
        return 0

    with_torch = _have_torch() and not a.no_torch
    reps = a.reps or (40 if a.quick else 400)
    # 15 processes per system: one process's step time can land in a slow or a fast mode
    # (where its large temporary arrays end up in memory: page faults or warm reuse), for
    # NumPy as for chainrule; with 5 the median flipped between modes from run to run
    rounds = a.rounds or (2 if a.quick else 15)
    steps = a.steps or (100 if a.quick else 500)
    result = {"machine": _machine(), "quick": a.quick,
              "targets": {"ops_vs_torch": TARGET_OPS, "mlp_vs_numpy": TARGET_MLP}}
    m = result["machine"]
    print(f"chainrule benchmark  {m['date']}  {m['platform']}  {m['cpu_count']} cores  "
          f"numpy {m['numpy']}  torch {m['torch'] or '(not installed)'}")
    if m["env"]:
        print("  environment: " + " ".join(f"{k}={v}" for k, v in m["env"].items()))
    if not with_torch:
        print("  torch not used: its columns are skipped")

    if a.only in (None, "ops"):
        r = bench_op_chain(reps, with_torch)
        u = r["us_per_op"]
        r["ratios"] = {"chainrule/numpy": u["chainrule"] / u["numpy"]}
        print(f"\n(a) op chain: {K} elementwise ops on a 16-vector (float32), forward+backward,"
              f" us/op, median of {reps} calls, interleaved in one process")
        print(f"  {'numpy (forward only)':24}{u['numpy']:9.2f}")
        if with_torch:
            print(f"  {'torch (1 thread)':24}{u['torch']:9.2f}")
        print(f"  {'chainrule':24}{u['chainrule']:9.2f}")
        if with_torch:
            rt = u["chainrule"] / u["torch"]
            r["ratios"]["chainrule/torch"] = rt
            r["target_met"] = rt <= TARGET_OPS
            print(f"  chainrule/torch  {rt:6.2f}x   target <= {TARGET_OPS}x   "
                  f"{_verdict(rt, TARGET_OPS)}")
        print(f"  chainrule/numpy  {r['ratios']['chainrule/numpy']:6.2f}x   (numpy: forward only,"
              " no graph: the floor)")
        result["op_chain"] = r

    if a.only in (None, "mlp"):
        r = bench_mlp(rounds, steps, with_torch, a.torch_threads)
        u = r["us_per_step"]
        rn = u["chainrule"] / u["numpy"]
        r["ratios"] = {"chainrule/numpy": rn}
        r["target_met"] = rn <= TARGET_MLP
        print(f"\n(b) seed 000 net {N}x{D_IN}->{H}->{D_OUT} (float32), {steps} SGD steps per "
              f"process, us/step (median step within a process, median over {rounds} processes per system,"
              " processes alternated; mean step in brackets)")
        mu = r["us_per_step_mean"]
        print(f"  {'numpy (hand backprop)':24}{u['numpy']:9.1f}   ({mu['numpy']:.1f})")
        if with_torch:
            print(f"  {f'torch ({a.torch_threads} threads)':24}{u['torch']:9.1f}   ({mu['torch']:.1f})")
        print(f"  {'chainrule':24}{u['chainrule']:9.1f}   ({mu['chainrule']:.1f})")
        print(f"  chainrule/numpy  {rn:6.2f}x   target <= {TARGET_MLP}x   {_verdict(rn, TARGET_MLP)}")
        if with_torch:
            r["ratios"]["chainrule/torch"] = u["chainrule"] / u["torch"]
            print(f"  chainrule/torch  {r['ratios']['chainrule/torch']:6.2f}x")
        fl = r["final_loss"]
        print("  final loss after training: " + ", ".join(f"{s} {v:.6g}" for s, v in fl.items()))
        result["mlp"] = r

    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
