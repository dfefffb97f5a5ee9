"""The main job: train a small CNN on the handwritten digits that ship with scikit-learn.

``python -m chainrule`` runs it: 8x8 grey images of the digits 0-9 (1,797 of them, bundled
with scikit-learn, nothing downloaded), a convolutional network written exactly as one
would with PyTorch, Adam, a progress bar per epoch (tqdm), then the test accuracy, a
loss/accuracy curve (PNG, matplotlib) and the trained weights (safetensors) in an output
folder. Needs the ``demo`` extra: ``pip install 'chainrule[demo]'``.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import List, Optional, Tuple

import numpy as np

import chainrule as torch
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.data import DataLoader, TensorDataset

__all__ = ["DigitsNet", "load_digits_split", "train", "main"]


class DigitsNet(nn.Module):
    """conv(1->16) -> relu -> conv(16->32) -> relu -> maxpool -> linear(512->64) -> linear(64->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.dropout(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def load_digits_split(seed: int, test_fraction: float = 0.2) -> Tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_test, y_test): images scaled to [0, 1], shape (N, 1, 8, 8)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit("the digits demo needs scikit-learn: pip install 'chainrule[demo]'") from exc
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    test, train_ = order[:n_test], order[n_test:]
    return (torch.from_numpy(images[train_]), torch.from_numpy(labels[train_]),
            torch.from_numpy(images[test]), torch.from_numpy(labels[test]))


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, accuracy


def train(epochs: int = 12, seed: int = 0, batch_size: int = 32, lr: float = 2e-3,
          progress: bool = True) -> Tuple[nn.Module, List[dict]]:
    """Train DigitsNet; returns the model and one record per epoch (losses, accuracy)."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_digits_split(seed)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model = DigitsNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = []
    for epoch in range(1, epochs + 1):
        batches = loader
        bar = None
        if progress:
            try:
                from tqdm import tqdm
                # (disable=None: no bar when the output is not a terminal, e.g. in CI logs)
                bar = batches = tqdm(loader, desc=f"epoch {epoch}/{epochs}", unit="batch",
                                     leave=False, disable=None)
            except ImportError:  # pragma: no cover - tqdm is in the demo extra
                pass
        total, count = 0.0, 0
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            count += len(yb)
            if bar is not None:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
        test_loss, test_acc = _evaluate(model, x_test, y_test)
        history.append({"epoch": epoch, "train_loss": total / count, "test_loss": test_loss,
                        "test_accuracy": test_acc})
        if progress:
            print(f"epoch {epoch:2d}: train loss {total / count:.4f}  test loss {test_loss:.4f}  "
                  f"test accuracy {100 * test_acc:.1f}%")
    return model, history


def save_curve(history: List[dict], path: str) -> Optional[str]:
    """Write the loss/accuracy curves as a PNG (None when matplotlib is missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the demo extra
        return None
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax1.plot(epochs, [h["test_loss"] for h in history], label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss")
    ax1.legend()
    ax2.plot(epochs, [100 * h["test_accuracy"] for h in history], color="tab:green")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy (%)")
    fig.suptitle("chainrule: a CNN on scikit-learn's digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chainrule --digits",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="chainrule-out", help="folder for the curve and weights")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, history = train(args.epochs, args.seed)
    os.makedirs(args.out, exist_ok=True)
    curve = save_curve(history, os.path.join(args.out, "digits_curve.png"))
    weights = os.path.join(args.out, "digits_cnn.safetensors")
    torch.save(model.state_dict(), weights)
    print(f"wrote {weights}" + (f" and {curve}" if curve else ""))
    print(f"time: {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {100 * history[-1]['test_accuracy']:.1f}%")
    return 0
