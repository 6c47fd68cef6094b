"""First-order meta-learning over the LoRA parameters: Reptile and first-order MAML.

Both keep meta-parameters θ (the adapter's trainable tensors) and, per meta-step, sample one
domain, copy θ into the model and adapt it with ``innerSteps`` AdamW steps (fresh optimizer
state, learning rate ``innerLearningRate``) on support batches of that domain, giving θ'. Then

- Reptile: θ ← θ + ε·(θ' − θ);
- FOMAML: one more inner step on a disjoint *query* batch, taken at θ' (the first-order MAML
  gradient, scaled by the inner optimizer), gives θ''; θ ← θ + ε·(θ'' − θ').

ε starts at ``metaLearningRate`` and decays linearly to zero over ``metaSteps``. The loss on fixed
held-out batches of every domain is measured at the start and at the end.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.training.sft import batch_loss

Encoded = list[tuple[list[int], list[int]]]


@dataclass
class MetaResult:
    loss_before: float
    loss_after: float
    steps: int


def _trainable(model: Any) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def snapshot(model: Any) -> dict[str, Any]:
    return {n: p.detach().clone() for n, p in _trainable(model).items()}


def restore(model: Any, state: dict[str, Any]) -> None:
    import torch

    with torch.no_grad():
        for name, param in _trainable(model).items():
            param.copy_(state[name])


def mean_loss(model: Any, batches: Sequence[Encoded], pad: int, device: str) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        losses = [float(batch_loss(model, b, pad, device)) for b in batches]
    return sum(losses) / len(losses) if losses else 0.0


def _inner(model: Any, batches: Sequence[Encoded], lr: float, pad: int, device: str) -> Any:
    import torch

    params = list(_trainable(model).values())
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(0.0, 0.999), weight_decay=0.0)
    model.train()
    for batch in batches:
        loss = batch_loss(model, batch, pad, device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return optimizer


def meta_train(model: Any, pad: int, device: str, support: dict[str, Encoded], held_out: dict[str, Encoded],
               algorithm: str, meta_steps: int, inner_steps: int, inner_lr: float, meta_lr: float,
               batch_size: int, seed: int, log: JsonLogger) -> MetaResult:
    """Meta-train the LoRA parameters of ``model`` in place; returns the held-out loss before and after."""
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    domains = sorted(d for d, rows in support.items() if rows)
    check = [rows[i:i + batch_size] for rows in held_out.values() for i in range(0, min(len(rows), 2 * batch_size),
                                                                                    batch_size)]
    before = mean_loss(model, check, pad, device)
    log.info("meta-training", algorithm=algorithm, domains=domains, metaSteps=meta_steps, innerSteps=inner_steps,
             heldOutLoss=round(before, 5))
    theta = snapshot(model)
    every = max(1, meta_steps // 10)
    for step in range(meta_steps):
        epsilon = meta_lr * (1 - step / meta_steps)
        rows = support[rng.choice(domains)]
        draws = [[rows[rng.randrange(len(rows))] for _ in range(min(batch_size, len(rows)))]
                 for _ in range(inner_steps + 1)]
        restore(model, theta)
        _inner(model, draws[:inner_steps], inner_lr, pad, device)
        adapted = snapshot(model)
        if algorithm == "fomaml":
            _inner(model, draws[inner_steps:], inner_lr, pad, device)
            direction = {n: p - adapted[n] for n, p in snapshot(model).items()}
        else:
            direction = {n: adapted[n] - theta[n] for n in theta}
        theta = {n: theta[n] + epsilon * direction[n] for n in theta}
        if step % every == 0 or step == meta_steps - 1:
            log.info("meta step", step=step + 1, metaSteps=meta_steps, epsilon=round(epsilon, 5))
    restore(model, theta)
    after = mean_loss(model, check, pad, device)
    log.info("meta-training done", heldOutLossBefore=round(before, 5), heldOutLossAfter=round(after, 5))
    return MetaResult(before, after, meta_steps)
