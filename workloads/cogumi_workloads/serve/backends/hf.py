"""A Hugging Face folder served with transformers, its modifiers as named peft LoRA adapters.

All adapters are loaded once into one ``PeftModel``; a request picks one with ``set_adapter``
or runs the base under ``disable_adapter()``. Generations are serialised by a lock (adapter
switching mutates the model), and each runs in a worker thread that feeds token ids to the
consuming generator, so a stream can be cancelled between tokens.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.serve.backends.base import GenRequest, Piece, Turn, cut_at_stop, held_back

_END = object()


class HFBackend:
    kind = "hf"

    def __init__(self, model_dir: Path, adapters: Mapping[str, Path], threads: int | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        if not (model_dir / "config.json").is_file():
            raise PermanentError(f"{model_dir} is not a Hugging Face model folder (no config.json)")
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(self.device)
        self.adapters = tuple(adapters)
        if adapters:
            from peft import PeftModel

            items = list(adapters.items())
            for name, path in items:
                if not (path / "adapter_config.json").is_file():
                    raise PermanentError(f"adapter {name!r} at {path} is not a peft folder (no adapter_config.json)")
            model = PeftModel.from_pretrained(model, str(items[0][1]), adapter_name=items[0][0])
            for name, path in items[1:]:
                model.load_adapter(str(path), adapter_name=name)
        model.eval()
        self.model: Any = model
        self.context_length = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ prompts

    def _prompt(self, request: GenRequest) -> str:
        if request.messages is None:
            return request.prompt or ""
        return self.format_chat(request.messages)

    def format_chat(self, messages: tuple[Turn, ...]) -> str:
        turns = [{"role": t.role, "content": t.content} for t in messages]
        if getattr(self.tokenizer, "chat_template", None):
            text: str = self.tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
            return text
        return "".join(f"{t['role']}: {t['content']}\n" for t in turns) + "assistant:"

    def _encode(self, text: str) -> Any:
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=not text.startswith(
            self.tokenizer.bos_token or "\0"))["input_ids"]
        return ids[:, -(self.context_length - 1):].to(self.device)

    @contextlib.contextmanager
    def _adapter(self, name: str | None) -> Iterator[None]:
        if not self.adapters:
            if name is not None:
                raise PermanentError(f"adapter {name!r} requested but none is loaded")
            yield
            return
        if name is None:
            with self.model.disable_adapter():
                yield
            return
        self.model.set_adapter(name)
        yield

    # ------------------------------------------------------------------ generation

    def stream(self, request: GenRequest) -> Iterator[Piece]:
        torch = self._torch
        from transformers import StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        input_ids = self._encode(self._prompt(request))
        n_prompt = int(input_ids.shape[1])
        max_new = max(1, min(request.max_tokens, self.context_length - n_prompt))
        ids: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        class _Feed(BaseStreamer):
            first = True

            def put(self, value: Any) -> None:
                if self.first:  # generate() first hands over the prompt
                    self.first = False
                    return
                for token in value.reshape(-1).tolist():
                    ids.put(int(token))

            def end(self) -> None:
                pass

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "streamer": _Feed(),
                                  "stopping_criteria": StoppingCriteriaList([_Cancel()]),
                                  "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id}
        if request.temperature > 0:
            kwargs.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)

        def work() -> None:
            try:
                with self._lock, torch.inference_mode(), self._adapter(request.adapter):
                    if request.seed is not None:
                        torch.manual_seed(request.seed)
                    self.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
            except Exception as exc:  # noqa: BLE001 - not swallowed: the consuming generator re-raises it
                ids.put(exc)
            finally:
                ids.put(_END)

        thread = threading.Thread(target=work, name="cogumi-generate", daemon=True)
        thread.start()
        out: list[int] = []
        emitted = ""
        finish = "length"
        try:
            while True:
                item = ids.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                out.append(item)
                if item == self.tokenizer.eos_token_id:
                    finish = "stop"
                text = self.tokenizer.decode(out, skip_special_tokens=True)
                text, stopped = cut_at_stop(text, request.stop)
                if stopped:
                    finish = "stop"
                    cancel.set()
                if text.endswith("\ufffd") and not stopped:
                    continue
                safe = len(text) if stopped else len(text) - held_back(text, request.stop)
                if safe > len(emitted):
                    yield Piece(text[len(emitted):safe])
                    emitted = text[:safe]
                if stopped:
                    break
            if len(out) < max_new and finish == "length" and not cancel.is_set():
                finish = "stop"  # ended by an end-of-turn token other than eos
            yield Piece("", finish_reason=finish, prompt_tokens=n_prompt, completion_tokens=len(out))  # type: ignore[arg-type]
        finally:
            cancel.set()
            thread.join(timeout=60)

    def yes_probability(self, messages: tuple[Turn, ...], adapter: str | None = None) -> float:
        torch = self._torch
        input_ids = self._encode(self.format_chat(messages))
        with self._lock, torch.inference_mode(), self._adapter(adapter):
            logits = self.model(input_ids=input_ids).logits[0, -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        yes = torch.logsumexp(logp[self._first_tokens(("Yes", "yes", " Yes"))], dim=0)
        no = torch.logsumexp(logp[self._first_tokens(("No", "no", " No"))], dim=0)
        return float(torch.sigmoid(yes - no))

    def _first_tokens(self, words: tuple[str, ...]) -> list[int]:
        firsts = {self.tokenizer.encode(w, add_special_tokens=False)[0] for w in words}
        return sorted(firsts)

    def close(self) -> None:
        with self._lock:
            self.model = None
