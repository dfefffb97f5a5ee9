"""``python -m chainrule --explain``: seed 004's back-propagation by hand, done by chainrule.

The seed derives, for w1=10, b1=1, w2=20, x=1, label=500 and
y1 = w1*x + b1, y2 = y1*w2, y3 = 2*y2, loss = MSE(y3, label), the gradients
w1.grad = -4800, b1.grad = -4800, w2.grad = -2640 and, after SGD(lr=0.005).step(),
w1 = 34, b1 = 25, w2 = 33.2. This prints the same derivation, node by node, with
``chainrule.autograd.explain``, checks the numbers, and draws the graph with
``chainrule.viz.draw`` (an SVG where Graphviz's ``dot`` is installed, else the DOT text).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence

import chainrule as torch

EXPECTED = {"w1": -4800.0, "b1": -4800.0, "w2": -2640.0}
AFTER_STEP = {"w1": 34.0, "b1": 25.0, "w2": 33.2}


def _draw(loss, params: dict, out_dir: Path) -> Optional[Path]:
    """Write the graph picture; returns its path (None when graphviz is not installed)."""
    try:
        from . import viz
        graph = viz.draw(loss, params=params)
    except ImportError as exc:
        print(f"(no graph picture: {exc})")
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    if shutil.which("dot"):
        path = Path(graph.render(filename="seed004_graph", directory=str(out_dir), format="svg",
                                 cleanup=True))
    else:  # no dot program: the DOT text, which any Graphviz viewer renders
        path = out_dir / "seed004_graph.dot"
        path.write_text(graph.source, encoding="utf-8")
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the seed 004 derivation; exit status 1 if a number differs from the seed's."""
    parser = argparse.ArgumentParser(prog="python -m chainrule --explain")
    parser.add_argument("--out", default="chainrule-out", help="folder for the graph picture")
    args = parser.parse_args(argv)

    w1 = torch.tensor(10.0, requires_grad=True)
    b1 = torch.tensor(1.0, requires_grad=True)
    w2 = torch.tensor(20.0, requires_grad=True)
    x = torch.tensor(1.0)
    label = torch.tensor(500.0)
    y1 = w1 * x + b1
    y2 = y1 * w2
    y3 = 2 * y2
    loss = torch.nn.MSELoss()(y3, label)
    print(f"seed 004: y1 = w1*x + b1, y2 = y1*w2, y3 = 2*y2, loss = MSE(y3, label) = {loss.item():g}\n")

    torch.autograd.explain(loss, {"w1": w1, "b1": b1, "w2": w2})

    params = {"w1": w1, "b1": b1, "w2": w2}
    with torch.autograd.record_gradients():  # so the picture shows each node's gradient
        loss.backward(retain_graph=True)
    picture = _draw(loss, params, Path(args.out))

    optimizer = torch.optim.SGD([w1, b1, w2], lr=0.005)
    optimizer.step()
    got_grads = {n: p.grad.item() for n, p in params.items()}
    got_step = {n: p.item() for n, p in params.items()}
    optimizer.zero_grad()

    print("\nafter backward(): " + ", ".join(f"{n}.grad = {v:g}" for n, v in got_grads.items()))
    print("after SGD(lr=0.005).step(): " + ", ".join(f"{n} = {v:g}" for n, v in got_step.items()))
    if picture is not None:
        print(f"graph picture: {picture}")
    ok = got_grads == EXPECTED and all(abs(got_step[n] - v) < 1e-4 for n, v in AFTER_STEP.items())
    print("matches the seed's numbers" if ok else "MISMATCH with the seed's numbers")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
