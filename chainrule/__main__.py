"""``python -m chainrule [--tour]``: run the tour of the seed documents (see tour.py)."""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chainrule",
        description="chainrule: automatic differentiation on NumPy with PyTorch's API. "
                    "With no arguments (or --tour), run the tour that reproduces every "
                    "number in the seed documents; the exit status is 1 on any mismatch.")
    parser.add_argument("--tour", action="store_true",
                        help="run the tour of the seed documents (the default)")
    parser.parse_args(argv)
    from .tour import run_tour
    return 1 if run_tour() else 0


if __name__ == "__main__":
    sys.exit(main())
