"""chainrule/ops/math_extra.py's public ops, classified (loaded by tests/test_composites.py)."""
import chainrule as cr

PRIMITIVE_WRAPPERS = {
    "asin": "asin", "arcsin": "asin", "acos": "acos", "arccos": "acos", "atan": "atan",
    "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "asinh": "asinh", "arcsinh": "asinh",
    "acosh": "acosh", "arccosh": "acosh", "atanh": "atanh", "arctanh": "atanh",
    "erfc": "erfc", "erfinv": "erfinv", "lgamma": "lgamma", "digamma": "digamma",
    "atan2": "atan2", "arctan2": "atan2", "hypot": "hypot", "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2", "xlogy": "xlogy", "fmod": "fmod", "nan_to_num": "nan_to_num",
}

NON_DIFFERENTIABLE = {
    "heaviside",  # PyTorch has no derivative for it
    "signbit", "isclose", "isneginf", "isposinf", "bitwise_and", "bitwise_or", "bitwise_xor",  # bool/int
    "allclose", "equal", "can_cast",  # Python bools
}


def composites(_r):
    return {
        "logit": [(lambda x: cr.logit(x), lambda r: [r.uniform(0.1, 0.9, (3, 4))]),
                  (lambda x: cr.logit(x, eps=0.2), lambda r: [r.uniform(0.05, 0.95, (6,))])],
        "sinc": [(lambda x: cr.sinc(x), lambda r: [_r(r, 3, 4)])],
        "frac": [(lambda x: cr.frac(x), lambda r: [r.integers(-3, 3, (5,)) + r.uniform(0.1, 0.9, (5,))])],
        "deg2rad": [(lambda x: cr.deg2rad(x), lambda r: [_r(r, 4)])],
        "rad2deg": [(lambda x: cr.rad2deg(x), lambda r: [_r(r, 4)])],
        "sgn": [(lambda x: cr.sgn(x) * x, lambda r: [_r(r, 4)])],
        "float_power": [(lambda x, y: cr.float_power(x, y), lambda r: [_r(r, 3, kind="p"), _r(r, 2, 1)]),
                        (lambda x: cr.float_power(x, 2), lambda r: [_r(r, 4)])],
        "clamp_min": [(lambda x: cr.clamp_min(x, -0.3), lambda r: [_r(r, 6)])],
        "clamp_max": [(lambda x: cr.clamp_max(x, 0.3), lambda r: [_r(r, 6)])],
        "moveaxis": [(lambda x: cr.moveaxis(x, 0, -1), lambda r: [_r(r, 2, 3, 4)])],
    }
