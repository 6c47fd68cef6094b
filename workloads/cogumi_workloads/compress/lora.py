"""Recovery tuning helpers: per-example loss, hardest-example selection, LoRA training and merging."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cogumi_workloads.compress.models import decoder_linears
from cogumi_workloads.compress.texts import Example, encode
from cogumi_workloads.runtime.logs import JsonLogger, progress

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MAX_TOKENS = 512
BATCH = 4
SEED = 0


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    start: int
    """First position whose token is a target (the answer; 1 for plain text)."""
    source: int = -1
    """Index of the example it was encoded from."""


def encode_all(tok: PreTrainedTokenizerBase, items: Sequence[Example]) -> list[Encoded]:
    """Rendered examples with at least one target token; the loss covers the answer (all text for plain text)."""
    out = []
    for index, item in enumerate(items):
        ids, start = encode(tok, item, MAX_TOKENS)
        start = start if item.answer is not None else 1
        if 0 < start < len(ids):
            out.append(Encoded(ids, start, index))
    return out


def _batch(rows: Sequence[Encoded], pad: int, device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    import torch

    width = max(len(r.ids) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, :len(row.ids)] = torch.tensor(row.ids)
        mask[i, :len(row.ids)] = 1
        labels[i, row.start:len(row.ids)] = torch.tensor(row.ids[row.start:])
    return ids.to(device), mask.to(device), labels.to(device)


def losses(model: PreTrainedModel, rows: Sequence[Encoded], pad: int, log: JsonLogger, desc: str) -> list[float]:
    """Mean next-token cross-entropy over each row's target tokens."""
    import torch

    out: list[float] = []
    batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
    model.eval()
    for chunk in progress(batches, log, desc):
        ids, mask, labels = _batch(chunk, pad, str(model.device))
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        target = labels[:, 1:]
        token = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100,
                                                  reduction="none")
        counts = (target != -100).sum(dim=1).clamp(min=1)
        out.extend((token.sum(dim=1) / counts).tolist())
    return out


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def hardest(rows: Sequence[Encoded], scores: Sequence[float], count: int) -> list[Encoded]:
    """The ``count`` rows with the highest loss (ties broken by position, so the choice is stable)."""
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    return [rows[i] for i in order[:count]]


def sparsity_masks(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Where each decoder Linear is exactly zero (kept through the merge)."""
    return {name: module.weight.detach() == 0 for name, module in decoder_linears(model)}


def train_lora(model: PreTrainedModel, rows: Sequence[Encoded], *, rank: int, steps: int, lr: float, pad: int,
               log: JsonLogger) -> tuple[PreTrainedModel, float]:
    """LoRA on every decoder Linear for ``steps`` batches of ``rows``; returns (merged model, last loss)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(SEED)
    targets = sorted({name.rsplit(".", 1)[-1] for name, _ in decoder_linears(model)})
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=targets, bias="none",
                        task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=lr)
    order = list(rows)
    rng = random.Random(SEED)
    peft_model.train()
    last = 0.0
    for step in progress(range(steps), log, "lora"):
        if step * BATCH % len(order) < BATCH:
            rng.shuffle(order)
        start = step * BATCH % len(order)
        chunk = (order + order)[start:start + BATCH]
        ids, mask, labels = _batch(chunk, pad, str(model.device))
        loss = peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        last = float(loss.detach())
    merged: PreTrainedModel = peft_model.merge_and_unload()
    merged.eval()
    return merged, last


def reapply_masks(model: torch.nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero again what was zero before tuning (a merged LoRA delta is dense)."""
    import torch

    with torch.no_grad():
        for name, module in decoder_linears(model):
            if name in masks:
                module.weight.masked_fill_(masks[name].to(module.weight.device), 0.0)
