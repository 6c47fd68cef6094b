"""The asset cache (idempotent, atomic, checksummed, locked) and builtin:// resolution."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cogumi_workloads.assets.models import require
from cogumi_workloads.assets.store import MARKER, Asset, BuildContext, materialise, problem, read_marker
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.errors import PermanentError


class Recipe:
    """A cheap asset whose build counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.builds = 0
        self.fail = fail
        self.lock = threading.Lock()

    def build(self, dest: Path, ctx: BuildContext) -> None:
        with self.lock:
            self.builds += 1
        (dest / "sub").mkdir()
        (dest / "weights.bin").write_bytes(b"\x01" * 1000)
        (dest / "sub" / "config.json").write_text('{"a": 1}')
        if self.fail:
            raise RuntimeError("build broke half-way")

    def asset(self) -> Asset:
        return Asset("fake", "1", "models", "test asset", "written by the test", self.build)


def test_pull_is_idempotent_and_checked(tmp_path: Path) -> None:
    recipe = Recipe()
    first = materialise(recipe.asset(), root=tmp_path)
    assert first.action == "built" and first.path == tmp_path / "models" / "fake-1" and first.bytes == 1008
    marker = read_marker(first.path)
    assert marker is not None and set(marker.files) == {"weights.bin", "sub/config.json"}
    stamp = (first.path / MARKER).stat().st_mtime_ns
    second = materialise(recipe.asset(), root=tmp_path)
    assert second.action == "present" and recipe.builds == 1
    assert (first.path / MARKER).stat().st_mtime_ns == stamp

    (first.path / "weights.bin").write_bytes(b"\x02" * 1000)  # same size: only a full check notices
    assert problem(first.path, full=False) is None
    assert "sha256" in (problem(first.path, full=True) or "")
    assert materialise(recipe.asset(), root=tmp_path).action == "present"
    assert materialise(recipe.asset(), root=tmp_path, full=True).action == "rebuilt" and recipe.builds == 2
    assert (first.path / "weights.bin").read_bytes() == b"\x01" * 1000

    (first.path / "sub" / "config.json").write_text("{}")  # other size: the cheap check notices
    assert materialise(recipe.asset(), root=tmp_path).action == "rebuilt" and recipe.builds == 3
    (first.path / "stray.txt").write_text("x")
    assert "unlisted" in (problem(first.path, full=True) or "")


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    recipe = Recipe(fail=True)
    with pytest.raises(RuntimeError, match="half-way"):
        materialise(recipe.asset(), root=tmp_path)
    assert not (tmp_path / "models" / "fake-1").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_concurrent_pulls_build_once(tmp_path: Path) -> None:
    recipe = Recipe()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(materialise(recipe.asset(), root=tmp_path).action))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert recipe.builds == 1
    assert sorted(results) == ["built", "present", "present", "present"]


def test_missing_package_is_named() -> None:
    with pytest.raises(PermanentError, match=r"no_such_package_xyz.*pip install"):
        require("testing", "json", "no_such_package_xyz")


def test_builtin_uris_resolve_to_the_pulled_folder(tiny_llama_dir: Path) -> None:
    assert uris.local_path("builtin://tiny-llama") == tiny_llama_dir
    assert uris.local_path("builtin://tiny-llama/config.json") == tiny_llama_dir / "config.json"
    config = json.loads((tiny_llama_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and config["vocab_size"] == 49152 and "quantization_config" not in config
    assert (tiny_llama_dir / "chat_template.jinja").is_file() and (tiny_llama_dir / "model.safetensors").is_file()
    assert problem(tiny_llama_dir, full=True) is None
    tokenizer = json.loads((tiny_llama_dir / "tokenizer.json").read_text())  # SmolLM2's byte-level BPE, as upstream
    assert tokenizer["model"]["byte_fallback"] is False and tokenizer["decoder"]["type"] == "ByteLevel"
    with pytest.raises(PermanentError, match="smollm2-135m-instruct"):
        uris.local_path("builtin://no-such-model")
    with pytest.raises(PermanentError, match="leaves"):
        uris.local_path("builtin://tiny-llama/../x")


def test_second_pull_through_the_cli_is_a_no_op(tiny_llama_dir: Path) -> None:
    stamp = (tiny_llama_dir / MARKER).stat().st_mtime_ns
    cmd = [sys.executable, "-m", "cogumi_workloads", "models", "pull", "--only", "tiny-llama", "--verify"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\t")[:2] == ["tiny-llama", "present"]
    assert (tiny_llama_dir / MARKER).stat().st_mtime_ns == stamp
    listed = subprocess.run([sys.executable, "-m", "cogumi_operator.cli", "models", "list"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith("tiny-llama\tr2\tready") for line in listed.stdout.splitlines())


@pytest.mark.slow
def test_llama_cpp_reads_the_builtin_tokenizer_as_byte_level_bpe(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """What every GGUF exported from a builtin model gets: llama.cpp's `gpt2` vocabulary with SmolLM2's
    pre-tokenizer, which tokenizes text (a SentencePiece-style one crashed llama.cpp on the first text)."""
    pytest.importorskip("llama_cpp")
    from cogumi_workloads.compress.gguf import converter

    out = tmp_path / "vocab.gguf"
    cmd = [sys.executable, str(converter()), str(tiny_llama_dir), "--vocab-only", "--outfile", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe = ("import llama_cpp, sys; m = llama_cpp.Llama(model_path=sys.argv[1], vocab_only=True, verbose=False); "
             "ids = m.tokenize('def f(x): return {\"city\": \"Paris\"} ✓'.encode(), add_bos=False); "
             "print(len(ids), m.detokenize(ids).decode())")
    tokenized = subprocess.run([sys.executable, "-c", probe, str(out)], capture_output=True, text=True, timeout=300,
                               check=False)
    assert tokenized.returncode == 0, tokenized.stderr[-2000:]
    assert tokenized.stdout.split(" ", 1)[1].strip() == 'def f(x): return {"city": "Paris"} ✓'
