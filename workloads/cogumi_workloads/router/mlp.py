"""The router's classifier: a 3-layer MLP (two hidden layers) over sentence embeddings, in torch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def build_mlp(inputs: int, hidden: Sequence[int], outputs: int, dropout: float = 0.1) -> nn.Sequential:
    """Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear (logits)."""
    first, second = hidden
    return nn.Sequential(
        nn.Linear(inputs, first), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(first, second), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(second, outputs),
    )


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    seed: int = 0
    balanced: bool = True
    """Weight the loss by inverse class frequency (the suites' splits differ in size)."""


def train_mlp(x: np.ndarray, y: np.ndarray, hidden: Sequence[int], classes: int,
              config: TrainConfig = TrainConfig()) -> tuple[nn.Sequential, float]:
    """Fit the MLP with AdamW and cross-entropy; returns the model (eval mode) and the last epoch's loss."""
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    model = build_mlp(x.shape[1], hidden, classes, config.dropout)
    features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
    weight = None
    if config.balanced:
        counts = torch.bincount(labels, minlength=classes).clamp(min=1).float()
        weight = len(labels) / (classes * counts)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    last = float("nan")
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(labels), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(features[batch]), labels[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        schedule.step()
        last = total / max(1, len(labels))
    model.eval()
    return model, last


def predict_proba(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities, one row per embedding."""
    with torch.inference_mode():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        return torch.softmax(logits, dim=-1).numpy()
