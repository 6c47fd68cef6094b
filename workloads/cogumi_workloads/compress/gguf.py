"""HF folder → GGUF with llama.cpp's own converter and quantizer.

The converter (``convert_hf_to_gguf.py`` with its ``conversion`` package and bundled
``gguf-py``) ships in the llama-cpp-python sdist, not in the wheel. ``.ci/wheels`` extracts it
into ``${COGUMI_CACHE_DIR:-~/.cache/cogumi}/llama.cpp/<llama-cpp-python version>/``; when only the
cached sdist is there, :func:`converter` extracts it on first use. ``COGUMI_LLAMA_CPP_CONVERTER``
names another ``convert_hf_to_gguf.py`` (an image that keeps it elsewhere).

The converter runs as a subprocess (it is a script with its own imports); the quantizer is
``llama_cpp.llama_model_quantize`` in process.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cogumi_workloads.assets.store import cache_root
from cogumi_workloads.compress.models import compression_config, load_model, load_tokenizer, save_dense, size_bytes
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.uris import atomic_file

CONVERTER_ENV = "COGUMI_LLAMA_CPP_CONVERTER"
OUTTYPES = {"F32": "f32", "BF16": "bf16"}
"""quantType values the converter writes itself; every other type starts from an f16 GGUF."""
EXTRACT = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion", "gguf-py")


def llama_cpp_version() -> str:
    try:
        return version("llama_cpp_python")
    except PackageNotFoundError as exc:
        raise PermanentError("the export stage needs llama-cpp-python; install the project's `compress` extra "
                             "(.ci/bootstrap builds and caches its wheel)") from exc


def converter() -> Path:
    """Path of ``convert_hf_to_gguf.py`` matching the installed llama-cpp-python."""
    configured = os.environ.get(CONVERTER_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise PermanentError(f"{CONVERTER_ENV}={configured} does not exist")
        return path
    ver = llama_cpp_version()
    folder = cache_root() / "llama.cpp" / ver
    script = folder / "convert_hf_to_gguf.py"
    if script.is_file() and (folder / "conversion").is_dir():
        return script
    sdist = cache_root() / "sdists" / f"llama_cpp_python-{ver}.tar.gz"
    if not sdist.is_file():
        raise PermanentError(f"llama.cpp's converter for llama-cpp-python {ver} is not in {folder} and the sdist "
                             f"{sdist} is not cached; run .ci/wheels (or set {CONVERTER_ENV})")
    _extract(sdist, ver, folder)
    return script


def _extract(sdist: Path, ver: str, folder: Path) -> None:
    prefix = f"llama_cpp_python-{ver}/vendor/llama.cpp/"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp, tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith(prefix) and m.name[len(prefix):].split("/", 1)[0] in EXTRACT]
        tar.extractall(tmp, members=members, filter="data")
        if folder.exists():
            return  # another process finished first
        os.replace(Path(tmp) / prefix, folder)


def convert(src: Path, dest: Path, outtype: str, log: JsonLogger) -> None:
    """Run llama.cpp's HF → GGUF converter on the folder ``src``; a clear error with its output on failure."""
    cmd = [sys.executable, str(converter()), str(src), "--outfile", str(dest), "--outtype", outtype]
    log.info("converting to GGUF", command=" ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not dest.is_file():
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise PermanentError(f"llama.cpp's convert_hf_to_gguf.py failed (exit {proc.returncode}): {tail}")


LORA_OUTTYPES = ("f32", "f16", "bf16", "q8_0")


def convert_lora(adapter: Path, base: Path, dest: Path, outtype: str, log: JsonLogger) -> None:
    """A peft LoRA folder → llama.cpp's GGUF LoRA (``convert_lora_to_gguf.py`` beside the HF converter).

    ``base`` is the Hugging Face folder the adapter was trained on; only its ``config.json`` is
    read (architecture and shapes), so a compressed-tensors folder serves as well as a dense one.
    """
    if outtype not in LORA_OUTTYPES:
        raise PermanentError(f"GGUF LoRA outtype {outtype!r}: use one of {', '.join(LORA_OUTTYPES)}")
    if not (base / "config.json").is_file():
        raise PermanentError(f"the base model {base} has no config.json: a GGUF LoRA needs the Hugging Face "
                             "folder the adapter was trained on")
    script = converter().with_name("convert_lora_to_gguf.py")
    if not script.is_file():
        raise PermanentError(f"llama.cpp's convert_lora_to_gguf.py is missing beside {script.parent}; "
                             "run .ci/wheels (or point COGUMI_LLAMA_CPP_CONVERTER at a complete llama.cpp checkout)")
    cmd = [sys.executable, str(script), "--outfile", str(dest), "--outtype", outtype, "--base", str(base), str(adapter)]
    log.info("converting the LoRA to GGUF", command=" ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not dest.is_file():
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise PermanentError(f"llama.cpp's convert_lora_to_gguf.py failed (exit {proc.returncode}): {tail}")


def ftype(quant_type: str) -> int:
    """llama.cpp's ``LLAMA_FTYPE_*`` value for a quantType such as ``Q5_K_M``."""
    import llama_cpp

    name = "LLAMA_FTYPE_ALL_F32" if quant_type == "F32" else f"LLAMA_FTYPE_MOSTLY_{quant_type}"
    value = getattr(llama_cpp, name, None)
    if not isinstance(value, int):
        known = sorted(n.removeprefix("LLAMA_FTYPE_MOSTLY_") for n in dir(llama_cpp)
                       if re.fullmatch(r"LLAMA_FTYPE_MOSTLY_[A-Z0-9_]+", n))
        raise PermanentError(f"export.quantType {quant_type!r} is not a llama.cpp type of llama-cpp-python "
                             f"{llama_cpp_version()}; known: F32, {', '.join(known)}")
    return value


def quantize(src: Path, dest: Path, quant_type: str, log: JsonLogger) -> None:
    """``llama_model_quantize`` of the GGUF ``src`` into ``dest`` (default params, all cores)."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype(quant_type)
    params.nthread = os.cpu_count() or 1
    log.info("quantizing GGUF", quantType=quant_type, ftype=params.ftype)
    code = llama_cpp.llama_model_quantize(str(src).encode(), str(dest).encode(), ctypes.byref(params))
    if code != 0 or not dest.is_file():
        raise PermanentError(f"llama.cpp could not quantize to {quant_type} (llama_model_quantize returned {code}); "
                             "IQ1/IQ2 types need an importance matrix")


def export(src: Path, dest: Path, quant_type: str, scratch: Path, log: JsonLogger) -> int:
    """Write the GGUF ``dest`` of the dense HF folder ``src`` at ``quant_type``; returns the 16-bit GGUF's size."""
    outtype = OUTTYPES.get(quant_type, "f16")
    base = scratch / f"model-{outtype}.gguf"
    convert(src, base, outtype, log)
    size = base.stat().st_size
    if quant_type in ("F16", *OUTTYPES):
        os.replace(base, dest)
    else:
        quantize(base, dest, quant_type, log)
        base.unlink()
    return size


def dense_folder(src: Path, scratch: Path, log: JsonLogger) -> tuple[Path, bool]:
    """``src`` itself when it is a plain folder, else a dequantized fp16 copy; and whether it was dequantized."""
    import torch

    if compression_config(src) is None:
        return src, False
    dest = scratch / "dequantized"
    log.info("dequantizing compressed-tensors weights to fp16 for the converter", source=str(src))
    model = load_model(src, on="cpu")
    save_dense(model, load_tokenizer(src), dest, torch.float16)
    del model
    return dest, True


def export_folder(src: Path, dest: Path, quant_type: str, scratch: Path, log: JsonLogger) -> dict[str, float]:
    """Write the GGUF of the HF folder ``src`` to ``dest`` (atomically); returns size metrics."""
    scratch.mkdir(parents=True, exist_ok=True)
    dense, dequantized = dense_folder(src, scratch, log)
    built = scratch / "out.gguf"
    unquantized = export(dense, built, quant_type, scratch, log)
    with atomic_file(dest) as handle, open(built, "rb") as data:
        shutil.copyfileobj(data, handle, 1 << 22)
    built.unlink()
    if dense != src:
        shutil.rmtree(dense, ignore_errors=True)
    return {"sizeBytes": float(dest.stat().st_size), "unquantizedBytes": float(unquantized),
            "sourceBytes": float(size_bytes(src)), "dequantized": float(dequantized)}
