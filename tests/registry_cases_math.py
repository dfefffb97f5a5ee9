"""Registry cases for chainrule/ops/math_extra.py (loaded by tests/test_registry.py)."""
import numpy as np

# primitives without derivative rules, each for a reason
NON_DIFFERENTIABLE_PRIMITIVES = {
    "signbit",  # bool result
    "heaviside",  # PyTorch: "derivative for heaviside is not implemented"
    "trigamma",  # internal: digamma's derivative (the second derivative of digamma stops here)
}

_SHAPES = [(), (1,), (3, 4), (0, 3)]
_BIN_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (3,)),
               ((0, 2), (2,))]


def cases(Case) -> dict:
    out = {}
    unary = {
        "asin": ("u", lambda t, x: t.asin(x)), "acos": ("u", lambda t, x: t.acos(x)),
        "atan": ("n", lambda t, x: t.atan(x)), "sinh": ("n", lambda t, x: t.sinh(x)),
        "cosh": ("n", lambda t, x: t.cosh(x)), "asinh": ("n", lambda t, x: t.asinh(x)),
        "atanh": ("u", lambda t, x: t.atanh(x)), "erfc": ("n", lambda t, x: t.erfc(x)),
        "erfinv": ("u", lambda t, x: t.erfinv(x)), "lgamma": ("p", lambda t, x: t.lgamma(x)),
        "digamma": ("p", lambda t, x: t.digamma(x)),
        "signbit": ("n", lambda t, x: t.signbit(x)),
        "trigamma": ("p", lambda t, x: t.polygamma(1, x)),
    }
    for name, (kind, tf) in unary.items():
        out[name] = [Case([(kind, s)], torch_fn=tf, name=str(s)) for s in _SHAPES]
    # acosh needs x > 1: raw arrays (float64)
    out["acosh"] = [Case([np.array([1.5, 2.0, 3.7])], torch_fn=lambda t, x: t.acosh(x)),
                    Case([np.array([[1.2, 5.0], [2.5, 1.1]])], torch_fn=lambda t, x: t.acosh(x),
                         name="2d")]
    binary = {
        "atan2": (("n", "a"), lambda t, a, b: t.atan2(a, b)),
        "hypot": (("a", "a"), lambda t, a, b: t.hypot(a, b)),
        "logaddexp": (("n", "n"), lambda t, a, b: t.logaddexp(a, b)),
        "logaddexp2": (("n", "n"), lambda t, a, b: t.logaddexp2(a, b)),
        "xlogy": (("n", "p"), lambda t, a, b: t.xlogy(a, b)),
        "fmod": (("rem_a", "rem_b"), lambda t, a, b: t.fmod(a, b)),
        "heaviside": (("a", "n"), lambda t, a, b: t.heaviside(a, b)),
    }
    for name, ((ka, kb), tf) in binary.items():
        out[name] = [Case([(ka, sa), (kb, sb)], torch_fn=tf, name=f"{sa}-{sb}")
                     for sa, sb in _BIN_SHAPES]
    out["xlogy"].append(Case([np.array([0.0, 1.5, 0.0]), ("p", (3,))], diff=[1],
                             torch_fn=lambda t, a, b: t.xlogy(a, b), name="zeros"))
    out["nan_to_num"] = [
        Case([("n", (3, 4))], {"nan": 0.0, "posinf": None, "neginf": None},
             torch_fn=lambda t, x: t.nan_to_num(x)),
        Case([("n", (5,))], {"nan": 1.0, "posinf": 2.0, "neginf": -2.0},
             torch_fn=lambda t, x: t.nan_to_num(x, 1.0, 2.0, -2.0), name="params"),
    ]
    return out
