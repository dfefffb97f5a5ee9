"""The main job: the digits CNN trains (the loss falls), and `python -m chainrule` writes its
curve and checkpoint and prints the test accuracy line."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

import chainrule as cr  # noqa: E402
from chainrule.digits import DigitsNet, load_digits_split, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_split_is_disjoint_and_scaled():
    x_train, y_train, x_test, y_test = load_digits_split(seed=0)
    assert tuple(x_train.shape[1:]) == (1, 8, 8) and len(x_train) + len(x_test) == 1797
    assert 0.0 <= float(x_train.min()) and float(x_train.max()) <= 1.0
    assert set(np.unique(y_test.numpy())) == set(range(10))


def test_a_few_steps_lower_the_loss():
    cr.manual_seed(0)
    x, y, _, _ = load_digits_split(seed=0)
    model = DigitsNet()
    opt = cr.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for step in range(40):
        k = step % 40
        xb, yb = x[k * 32:(k + 1) * 32], y[k * 32:(k + 1) * 32]
        opt.zero_grad()
        loss = cr.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3]), losses


def test_one_epoch_history():
    model, history = train(epochs=1, seed=1, progress=False)
    assert len(history) == 1 and history[0]["test_accuracy"] > 0.6
    assert isinstance(model, DigitsNet)


def test_main_job_writes_outputs(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "chainrule", "--epochs", "2", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = re.search(r"^test accuracy: (\d+\.\d)%$", proc.stdout, re.M)
    assert m and float(m.group(1)) > 80.0, proc.stdout
    assert (tmp_path / "digits_curve.png").stat().st_size > 1000
    state = cr.load(str(tmp_path / "digits_cnn.safetensors"))
    fresh = DigitsNet()
    fresh.load_state_dict(state)  # the checkpoint fits the model
    assert set(state) == set(fresh.state_dict())
