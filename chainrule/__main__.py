"""``python -m chainrule``: the main job.

With no arguments it trains a small CNN on scikit-learn's handwritten digits (see
digits.py): ``--epochs``, ``--seed`` and ``--out DIR`` set the run. ``--tour`` instead runs
the tour that reproduces every number in the seed documents (see tour.py); ``--explain``
prints seed 004's chain rule node by node and draws its graph (see explain_demo.py)."""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chainrule",
        description="chainrule: automatic differentiation and neural networks on NumPy with "
                    "PyTorch's API. With no arguments, train a CNN on the digits that ship "
                    "with scikit-learn; with --tour, reproduce every number in the seed "
                    "documents (exit status 1 on any mismatch); with --explain, print seed 004's "
                    "derivation node by node and draw its graph.")
    parser.add_argument("--tour", action="store_true", help="run the tour of the seed documents")
    parser.add_argument("--explain", action="store_true",
                        help="seed 004's back-propagation explained node by node, with a graph "
                             "picture written to --out")
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (digits demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (digits demo)")
    parser.add_argument("--out", default="chainrule-out",
                        help="folder for the curve and the checkpoint (digits demo)")
    args = parser.parse_args(argv)
    if args.explain:
        from .explain_demo import main as explain_main
        return explain_main(["--out", args.out])
    if args.tour:
        from .tour import run_tour
        return 1 if run_tour() else 0
    from .digits import main as digits_main
    return digits_main(["--epochs", str(args.epochs), "--seed", str(args.seed), "--out", args.out])


if __name__ == "__main__":
    sys.exit(main())
