"""LoRA adapter compression on peft adapter folders (``adapter_config.json`` + ``adapter_model.safetensors``).

- ``svd``: rank reduction. For each adapted module the update ``ΔW = s·B·A`` (``s = alpha/r``) is
  factored exactly through QR of ``B`` and ``Aᵀ`` and an SVD of the small ``r×r`` core, then cut to
  ``k`` singular values: ``B' = U_k·√Σ_k``, ``A' = √Σ_k·V_kᵀ``, with ``alpha' = k·s`` so the scale is
  unchanged. The result is a standard peft adapter of rank ``k`` (any peft or llama.cpp loader reads it).
- ``int8``: symmetric per-row int8 of every LoRA matrix with one float32 scale a row, stored as
  ``adapter_int8.safetensors`` plus ``cogumi_compression.json``; :func:`materialise` turns it
  back into a float peft folder before loading.
- ``none``: a copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
INT8_WEIGHTS = "adapter_int8.safetensors"
MARKER = "cogumi_compression.json"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _pairs(state: dict[str, torch.Tensor]) -> list[tuple[str, str]]:
    return sorted((k, k.replace("lora_A", "lora_B")) for k in state if ".lora_A." in k)


def _copy_side_files(src: Path, dest: Path, skip: set[str]) -> None:
    for path in src.iterdir():
        if path.is_file() and path.name not in skip:
            shutil.copy2(path, dest / path.name)


def svd_reduce(src: Path, dest: Path, target_rank: int | None) -> tuple[int, int]:
    """Write the rank-reduced adapter to ``dest``; returns (rank before, rank after)."""
    config = json.loads((src / CONFIG).read_text())
    rank = int(config["r"])
    if config.get("use_rslora") or config.get("rank_pattern") or config.get("alpha_pattern"):
        raise ValueError("svd compression supports adapters with one rank and plain alpha/r scaling")
    k = max(1, min(rank, target_rank if target_rank is not None else rank // 2))
    scale = float(config.get("lora_alpha", rank)) / rank
    state = load_file(str(src / WEIGHTS))
    out: dict[str, torch.Tensor] = {}
    for key_a, key_b in _pairs(state):
        a, b = state[key_a].double(), state[key_b].double()  # a: r×in, b: out×r
        qb, rb = torch.linalg.qr(b)
        qa, ra = torch.linalg.qr(a.T)
        u, sigma, vh = torch.linalg.svd(rb @ ra.T)
        keep = min(k, sigma.numel())  # a module narrower than k has fewer singular values: pad with zeros
        root = sigma[:keep].sqrt()
        new_b = torch.zeros(b.shape[0], k, dtype=torch.float64)
        new_a = torch.zeros(k, a.shape[1], dtype=torch.float64)
        new_b[:, :keep] = (qb @ u[:, :keep]) * root
        new_a[:keep] = root[:, None] * (vh[:keep] @ qa.T)
        out[key_b] = new_b.to(state[key_b].dtype).contiguous()
        out[key_a] = new_a.to(state[key_a].dtype).contiguous()
    for key, value in state.items():
        out.setdefault(key, value)
    dest.mkdir(parents=True, exist_ok=True)
    _copy_side_files(src, dest, {CONFIG, WEIGHTS})
    config["r"], config["lora_alpha"] = k, k * scale
    (dest / CONFIG).write_text(json.dumps(config, indent=2))
    save_file(out, str(dest / WEIGHTS), metadata={"format": "pt"})
    return rank, k


def int8_quantize(src: Path, dest: Path) -> None:
    """Write the int8 adapter (per-row scales) to ``dest``."""
    state = load_file(str(src / WEIGHTS))
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        matrix = value.float().reshape(value.shape[0], -1)
        scale = matrix.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        out[key] = torch.round(matrix / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(value.shape)
        out[key + ".scale"] = scale.contiguous()
    dest.mkdir(parents=True, exist_ok=True)
    _copy_side_files(src, dest, {WEIGHTS})
    save_file(out, str(dest / INT8_WEIGHTS), metadata={"format": "cogumi-int8"})
    dtypes = sorted({str(v.dtype).removeprefix("torch.") for v in state.values()})
    (dest / MARKER).write_text(json.dumps({"method": "int8", "weights": INT8_WEIGHTS, "dtype": dtypes[0]}))


def compress(src: Path, dest: Path, method: str, target_rank: int | None) -> dict[str, float]:
    """Compress the adapter at ``src`` into ``dest``; returns rankBefore/rankAfter where they apply."""
    if method == "svd":
        before, after = svd_reduce(src, dest, target_rank)
        return {"rankBefore": float(before), "rankAfter": float(after)}
    if method == "int8":
        int8_quantize(src, dest)
        return {}
    shutil.copytree(src, dest, dirs_exist_ok=True)
    return {}


def materialise(path: Path, scratch: Path) -> Path:
    """A folder peft can load: ``path`` itself, or the int8 adapter dequantised into ``scratch``."""
    marker = path / MARKER
    if not marker.exists():
        return path
    info = json.loads(marker.read_text())
    state = load_file(str(path / info["weights"]))
    dtype = getattr(torch, info.get("dtype", "float32"))
    out = {}
    for key, value in state.items():
        if key.endswith(".scale"):
            continue
        scale = state[key + ".scale"]
        matrix = value.float().reshape(value.shape[0], -1) * scale[:, None]
        out[key] = matrix.reshape(value.shape).to(dtype).contiguous()
    scratch.mkdir(parents=True, exist_ok=True)
    _copy_side_files(path, scratch, {info["weights"], MARKER})
    save_file(out, str(scratch / WEIGHTS), metadata={"format": "pt"})
    return scratch
