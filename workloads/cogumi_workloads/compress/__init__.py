"""What the CompressionRun stages share (plan phases 2A–2F).

Artifacts that flow between the stages, by name (each stage reads the latest artifact of a name
from ``invocation.inputs`` and falls back to ``spec.model.uri``):

``model``
    A Hugging Face causal-LM folder. Written by ``prune`` (sparse weights, compressed-tensors
    sparse format when that is smaller), ``quantize`` (compressed-tensors ``pack-quantized``
    W4A16) and ``recover`` (LoRA merged back, re-quantized when its input was quantized).
    transformers loads every one of them.
``gguf``
    One GGUF file for llama.cpp, written by ``export`` and again by ``recover`` when the run
    exported before it.
``packed``
    The zstd-packed ``gguf`` (or ``model``), written by ``pack``.
``calibration``
    A JSON file with the temperature and Platt parameters of the answer confidence, written by
    ``calibrate`` (:mod:`cogumi_workloads.compress.calibration` loads and applies it).
"""
