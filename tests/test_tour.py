"""The tour (`python -m chainrule --tour`) runs, shows every seed's checks as OK, and fails
loudly when a check does not match."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import tour

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "chainrule", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def tour_output():
    proc = _run("--tour")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_tour_exits_zero_and_reports_all_ok(tour_output):
    assert "MISMATCH" not in tour_output
    assert re.search(r"^all \d+ checks OK", tour_output, re.M), tour_output[-2000:]


@pytest.mark.parametrize("line", [
    # seed 002
    r"OK +x\.grad after z\.backward\(\) +tensor\(\[8\.\]\) +expected tensor\(\[8\.\]\)",
    r"OK +x\.grad after x\.backward\(z\) +tensor\(\[4\.\]\) +expected tensor\(\[4\.\]\)",
    r"did you mean z\.backward\(\)",
    # seed 003
    r"OK +y +tensor\(28\., grad_fn=<MulBackward0>\) +expected",
    r"OK +x\.grad +tensor\(\[ 0\.,  4\.,  8\., 12\.\]\) +expected",
    r"OK +x\.grad before backward +None +expected None",
    # seed 001
    r"OK +i\.grad \(two paths added\) +tensor\(7\.\) +expected tensor\(7\.\)",
    r"OK +k\.grad_fn +MulBackward0 +expected MulBackward0",
    # seed 004
    r"OK +w1\.grad +tensor\(-4800\.\) +expected tensor\(-4800\.\)",
    r"OK +b1\.grad +tensor\(-4800\.\) +expected tensor\(-4800\.\)",
    r"OK +w2\.grad +tensor\(-2640\.\) +expected tensor\(-2640\.\)",
    r"OK +w1 after step\(\) +tensor\(34\., requires_grad=True\)",
    r"OK +b1 after step\(\) +tensor\(25\., requires_grad=True\)",
    r"OK +w2 after step\(\) +tensor\(33\.2000, requires_grad=True\)",
    r"OK +w2\.grad after zero_grad\(\) +tensor\(0\.\) +expected tensor\(0\.\)",
    r"OK +conv weight gradient = hand derivation",
    r"OK +jacobian\(mode='auto'\) picks, for 1000 inputs and 1 output +reverse",
    # seed 000
    r"OK +float64: grad_w1 vs NumPy, max rel diff",
    r"OK +float64: grad_w2 vs NumPy, max rel diff",
    r"OK +training step 4: loss",
])
def test_tour_shows_line(tour_output, line):
    assert re.search(line, tour_output), line


def test_every_seed_has_a_section(tour_output):
    for n in ("000", "001", "002", "003", "004"):
        assert f"== seed {n}" in tour_output


@pytest.mark.parametrize("fn", [f for _, f in tour.SEEDS], ids=lambda f: f.__name__)
def test_each_seed_function_returns_matching_rows(fn):
    rows = fn()
    assert rows, fn.__name__
    bad = [r for r in rows if not r.ok]
    assert not bad, bad
    for r in rows:
        name, got, expected, ok = r
        assert isinstance(name, str) and name


def test_a_mismatch_is_reported_and_fails(monkeypatch):
    def broken(say=print):
        rows = [tour._same("one plus one", repr(1 + 1), "3")]
        for r in rows:
            say(r)
        return rows

    def raises(say=print):
        raise ValueError("boom")

    monkeypatch.setattr(tour, "SEEDS", [("broken", broken), ("raises", raises)])
    out = io.StringIO()
    assert tour.run_tour(out) == 2
    text = out.getvalue()
    assert re.search(r"MISMATCH +one plus one +2 +expected 3", text), text
    assert "ValueError: boom" in text
    assert tour.main() == 1


def test_close_and_at_most_checks():
    assert tour._close("x", 1.0 + 1e-12, 1.0, 1e-10).ok
    assert not tour._close("x", 1.1, 1.0, 1e-10).ok
    assert not tour._close("x", float("nan"), 1.0, 1e-10).ok
    assert tour._at_most("d", 0.0, 1e-10).ok
    assert not tour._at_most("d", 1e-3, 1e-10).ok
