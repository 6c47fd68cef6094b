"""A GGUF model served with llama-cpp-python, its modifiers as GGUF LoRA adapters.

Every adapter is loaded once (``llama_adapter_lora_init``); a request activates one with
``llama_set_adapters_lora`` (none for the base). Switching invalidates the KV cache, so the
context is reset whenever the active adapter changes. Chat requests go through the model's own
chat template (``create_chat_completion``, as llama-cpp-python's server does).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cogumi_workloads.runtime.cpus import cpu_budget
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import gguf_file
from cogumi_workloads.serve.backends.base import GenRequest, Piece, Turn


class GGUFBackend:
    kind = "gguf"

    def __init__(self, model_file: Path, adapters: Mapping[str, Path], threads: int | None = None,
                 n_ctx: int = 4096) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise PermanentError("a GGUF model needs llama-cpp-python (the image's `compress` extra)") from exc
        model_file = gguf_file(model_file)
        self._lib = llama_cpp
        threads = threads or cpu_budget()
        self.llm = llama_cpp.Llama(model_path=str(model_file), n_ctx=n_ctx, n_threads=threads,
                                   n_threads_batch=threads, verbose=False)
        self.context_length = self.llm.n_ctx()
        self._adapters: dict[str, Any] = {}
        for name, path in adapters.items():
            try:
                path = gguf_file(path)
            except PermanentError as exc:
                raise PermanentError(f"adapter {name!r}: {exc}") from exc
            handle = llama_cpp.llama_adapter_lora_init(self.llm.model, str(path).encode("utf-8"))
            if not handle:
                raise PermanentError(f"adapter {name!r}: llama.cpp could not load the LoRA {path}")
            self._adapters[name] = handle
        self.adapters = tuple(self._adapters)
        self._active: str | None = None
        self._lock = threading.Lock()
        self._formatter = self._chat_formatter()

    def _chat_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None

        def text(token: int) -> str:
            return self.llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

        return Jinja2ChatFormatter(template=template, eos_token=text(self.llm.token_eos()),
                                   bos_token=text(self.llm.token_bos()))

    def _activate(self, name: str | None) -> None:
        if name == self._active:
            return
        lib = self._lib
        if name is None:
            code = lib.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        else:
            if name not in self._adapters:
                raise PermanentError(f"adapter {name!r} is not loaded")
            handles = (lib.llama_adapter_lora_p_ctypes * 1)(self._adapters[name])
            scales = (ctypes.c_float * 1)(1.0)
            code = lib.llama_set_adapters_lora(self.llm.ctx, handles, 1, scales)
        if code:
            raise PermanentError(f"llama.cpp refused to activate adapter {name!r} (code {code})")
        self.llm.reset()
        self._active = name

    def stream(self, request: GenRequest) -> Iterator[Piece]:
        params: dict[str, Any] = {"max_tokens": request.max_tokens, "temperature": request.temperature,
                                  "top_p": request.top_p, "stop": list(request.stop) or None, "stream": True}
        if request.seed is not None:
            params["seed"] = request.seed
        parts: list[str] = []
        finish = "stop"
        with self._lock:
            self._activate(request.adapter)
            if request.messages is not None:
                chunks = self.llm.create_chat_completion(
                    messages=[{"role": t.role, "content": t.content} for t in request.messages], **params)
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    delta = choice.get("delta", {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if delta:
                        parts.append(delta)
                        yield Piece(delta)
            else:
                for chunk in self.llm.create_completion(request.prompt or "", **params):
                    choice = chunk["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    if choice["text"]:
                        parts.append(choice["text"])
                        yield Piece(choice["text"])
            text = "".join(parts)
            completion = len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
            prompt = max(0, self.llm.n_tokens - completion)
        yield Piece("", finish_reason="length" if finish == "length" else "stop",
                    prompt_tokens=prompt, completion_tokens=completion)

    def yes_probability(self, messages: tuple[Turn, ...], adapter: str | None = None) -> float:
        import numpy as np

        turns = [{"role": t.role, "content": t.content} for t in messages]
        if self._formatter is not None:
            prompt = self._formatter(messages=turns).prompt
        else:
            prompt = "".join(f"{t['role']}: {t['content']}\n" for t in turns) + "assistant:"
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        with self._lock:
            self._activate(adapter)
            self.llm.reset()
            self.llm.eval(tokens[-(self.context_length - 1):])
            logits = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(self.llm.ctx, -1),
                                           shape=(self.llm.n_vocab(),)).astype(np.float64)
            self.llm.reset()
        logp = logits - logits.max()

        def mass(words: tuple[str, ...]) -> float:
            ids = {self.llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words}
            return float(np.exp(logp[sorted(ids)]).sum())

        yes, no = mass(("Yes", "yes", " Yes")), mass(("No", "no", " No"))
        return yes / (yes + no) if yes + no > 0 else 0.5

    def close(self) -> None:
        with self._lock:
            for handle in self._adapters.values():
                self._lib.llama_adapter_lora_free(handle)
            self._adapters.clear()
            self.llm.close()
