"""Supervised fine-tuning of a LoRA adapter with peft: prompt→answer pairs, loss on the answer only.

Each pair is rendered the way the shared evaluation prompts the model (the tokenizer's chat
template: one user turn, then the generation prompt) followed by the answer and the end-of-turn
token; prompt tokens are masked out of the loss. A plain PyTorch loop (AdamW, linear warm-up and
decay, gradient clipping) keeps the behaviour identical on CPU and GPU and exposes the per-step
loss for the status' loss curve.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogumi_api.training import Lora, Training
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.tasks.evaluate import chat_text
from cogumi_workloads.training.files import write_json

IGNORE = -100


@dataclass(frozen=True)
class Example:
    prompt: str
    answer: str


@dataclass
class LossCurve:
    losses: list[float] = field(default_factory=list)
    tokens: int = 0
    """Tokens (prompt and answer, padding excluded) processed by the training steps."""

    def summary(self) -> dict[str, float]:
        if not self.losses:
            return {"steps": 0.0}
        tail = self.losses[-max(1, len(self.losses) // 10):]
        head = self.losses[:max(1, len(self.losses) // 10)]
        return {"steps": float(len(self.losses)), "tokens": float(self.tokens), "lossFirst": round(self.losses[0], 5),
                "lossLast": round(self.losses[-1], 5), "lossFirstTenth": round(sum(head) / len(head), 5),
                "lossLastTenth": round(sum(tail) / len(tail), 5), "lossMin": round(min(self.losses), 5)}


def encode(tokenizer: Any, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) per example, truncated to ``max_len`` (the answer keeps its end token).

    The prompt is rendered exactly as :func:`cogumi_workloads.tasks.evaluate.generate` renders it.
    """
    eos = tokenizer.eos_token or ""
    templated = bool(getattr(tokenizer, "chat_template", None))
    out = []
    for ex in examples:
        head = tokenizer(chat_text(tokenizer, ex.prompt), add_special_tokens=not templated).input_ids
        tail = tokenizer(ex.answer + eos, add_special_tokens=False).input_ids
        head = head[-max(1, max_len - min(len(tail), max_len // 2)):]  # keep the end of long prompts
        ids = (head + tail)[:max_len]
        labels = ([IGNORE] * len(head) + tail)[:max_len]
        if any(label != IGNORE for label in labels):
            out.append((ids, labels))
    return out


def lora_config(lora: Lora, rank: int) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=lora.alpha or 2 * rank, lora_dropout=lora.dropout,
                      target_modules=list(lora.target_modules), bias="none", task_type="CAUSAL_LM")


def with_lora(model: Any, lora: Lora, rank: int) -> Any:
    """``model`` wrapped with a fresh trainable LoRA adapter."""
    from peft import get_peft_model

    try:
        return get_peft_model(model, lora_config(lora, rank))
    except ValueError as exc:
        from cogumi_workloads.runtime.errors import PermanentError

        raise PermanentError(f"cannot attach LoRA to this model (targetModules {lora.target_modules}): {exc}") from exc


def collate(batch: Sequence[tuple[list[int], list[int]]], pad_id: int, device: str) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (x, y) in enumerate(batch):
        ids[row, :len(x)] = torch.tensor(x)
        labels[row, :len(y)] = torch.tensor(y)
        mask[row, :len(x)] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def batch_loss(model: Any, batch: Sequence[tuple[list[int], list[int]]], pad_id: int, device: str) -> Any:
    return model(**collate(batch, pad_id, device)).loss


def planned_steps(n: int, training: Training) -> int:
    if training.max_steps is not None:
        return training.max_steps
    return max(1, math.ceil(training.epochs * n / training.batch_size))


def sample_batches(n: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """Index batches over shuffled epochs: ``steps`` batches of ``batch_size`` (or fewer when ``n`` is)."""
    rng = random.Random(seed)
    order: list[int] = []
    batches = []
    for _ in range(steps):
        if len(order) < min(batch_size, n):
            fresh = list(range(n))
            rng.shuffle(fresh)
            order.extend(fresh)
        batches.append(order[:min(batch_size, n)])
        del order[:min(batch_size, n)]
    return batches


def train(model: Any, tokenizer: Any, encoded: list[tuple[list[int], list[int]]], training: Training,
          device: str, log: JsonLogger) -> LossCurve:
    """Train the trainable parameters of ``model`` on ``encoded``; returns the per-step loss."""
    import torch

    torch.manual_seed(training.seed)
    steps = planned_steps(len(encoded), training)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=training.learning_rate, weight_decay=0.0)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    curve = LossCurve()
    model.train()
    every = max(1, steps // 10)
    for step, idx in enumerate(sample_batches(len(encoded), training.batch_size, steps, training.seed)):
        batch = [encoded[i] for i in idx]
        loss = batch_loss(model, batch, pad, device)
        curve.tokens += sum(len(ids) for ids, _ in batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        curve.losses.append(float(loss.detach()))
        if step % every == 0 or step == steps - 1:
            log.info("train step", step=step + 1, steps=steps, loss=round(curve.losses[-1], 5))
    model.eval()
    return curve


def train_and_save(model: Any, loaded: Any, encoded: list[tuple[list[int], list[int]]], training: Training,
                   out: Path, log: JsonLogger, **record: Any) -> tuple[LossCurve, float]:
    """Train (:func:`train`), then write the adapter and its ``training.json`` (the loss curve, the
    caller's ``record``, how the model was loaded, examples, seconds) atomically to ``out``.
    ``loaded`` is a :class:`cogumi_workloads.training.modelio.Loaded`; returns the curve and the seconds."""
    start = time.monotonic()
    curve = train(model, loaded.tokenizer, encoded, training, loaded.device, log)
    seconds = time.monotonic() - start
    with atomic_dir(out) as folder:
        model.save_pretrained(folder)
        write_json(folder / "training.json", {"losses": curve.losses, **record,
                                              "quantized4bit": loaded.quantized4bit, "how": loaded.note,
                                              "examples": len(encoded), "seconds": round(seconds, 2)})
    return curve, seconds
