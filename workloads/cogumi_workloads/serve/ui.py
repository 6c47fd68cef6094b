"""The Gradio UI, mounted on the server's FastAPI app at /ui.

Chat, the session's remembered history, the router's choice and confidence of the last answer,
a manual modifier override (auto = the router decides) and the fast/accurate mode toggle. It
calls the same :class:`Engine` as the OpenAI routes, in-process. Fonts are the system's (no
request leaves the machine); server-side rendering is off (it would need Node).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from fastapi import FastAPI

from cogumi_workloads.serve.backends.base import Turn
from cogumi_workloads.serve.engine import Engine
from cogumi_workloads.serve.errors import ApiError

AUTO = "auto (router)"
PATH = "/ui"


def _route_text(meta: dict[str, Any], query: str) -> str:
    route = meta["route"]
    conf = "n/a" if route["confidence"] is None else f"{route['confidence']:.2f}"
    escalated = "yes" if meta["escalation"]["escalated"] else "no"
    lines = [f"**Route:** {meta['modifier'] or 'base'} ({route['source']}) · **router domain:** "
             f"{route['domain'] or 'n/a'} · **confidence:** {conf} · **mode:** {meta['mode']} · "
             f"**escalated:** {escalated}"]
    shown = query if len(query) <= 60 else query[:57] + "..."
    lines.insert(0, f"**Last query:** {shown}")
    if meta["escalation"]["reasons"]:
        lines.append("Escalation: " + "; ".join(meta["escalation"]["reasons"]))
    sc = meta.get("self_consistency")
    if sc:
        last = sc["attempts"][-1]
        lines.append(f"Votes: {last['votes']} (agreement {last['agreement']:.2f})")
    return "\n\n".join(lines)


def build_ui(engine: Engine) -> Any:
    import gradio as gr

    choices = [AUTO, "base", *engine.backend.adapters]

    def history_rows(session: str) -> list[list[str]]:
        if engine.memory is None or not session:
            return []
        return [[time.strftime("%H:%M:%S", time.localtime(ex.ts)), ex.query, ex.modifier or "base"]
                for ex in engine.memory.recall(session)]

    def respond(message: str, chat: list[dict[str, Any]], modifier: str, mode: str, session: str
                ) -> tuple[list[dict[str, Any]], str, str, list[list[str]]]:
        chat = list(chat or [])
        if not message.strip():
            return chat, "", "Type a message first.", history_rows(session)
        model = engine.settings.name if modifier == AUTO else f"{engine.settings.name}:{modifier}"
        turns = [Turn("user", message)]
        if engine.memory is None:  # without server-side memory, the visible chat is the context
            turns = [Turn(m["role"], str(m["content"])) for m in chat if m["role"] in ("user", "assistant")] + turns
        try:
            plan = engine.plan(model=model, messages=turns, prompt=None, max_tokens=None, temperature=None,
                               top_p=None, n=1, stop=(), seed=None, mode=mode, session=session)
            answer = engine.answer(plan)[0]
        except ApiError as exc:
            return chat, message, f"**Error:** {exc.message}", history_rows(session)
        plan.meta.update(answer.meta)
        chat += [{"role": "user", "content": message}, {"role": "assistant", "content": answer.text}]
        return chat, "", _route_text(engine.metadata(plan), message), history_rows(session)

    with gr.Blocks(title=f"Cogumi · {engine.settings.name}", analytics_enabled=False) as demo:
        session = gr.State("")
        gr.Markdown(f"## Cogumi · {engine.settings.name}")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", elem_id="cogumi-chat", height=360)
                text = gr.Textbox(label="Message", placeholder="Ask something…", elem_id="cogumi-input")
                send = gr.Button("Send", variant="primary", elem_id="cogumi-send")
                route = gr.Markdown("No answer yet.", elem_id="cogumi-route")
            with gr.Column(scale=2):
                mode = gr.Radio(["fast", "accurate"], value=engine.settings.spec.mode, label="Mode",
                                elem_id="cogumi-mode")
                modifier = gr.Dropdown(choices, value=AUTO, label="Modifier", elem_id="cogumi-modifier")
                history = gr.Dataframe(headers=["time", "query", "modifier"], label="Session history",
                                       elem_id="cogumi-history", interactive=False)
        inputs = [text, chatbot, modifier, mode, session]
        outputs = [chatbot, text, route, history]
        send.click(respond, inputs, outputs)
        text.submit(respond, inputs, outputs)
        demo.load(lambda: f"ui-{uuid.uuid4().hex[:12]}", None, session)
    return demo


def mount_ui(app: FastAPI, engine: Engine) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    theme = gr.themes.Base(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    gr.mount_gradio_app(app, build_ui(engine), path=PATH, ssr_mode=False, theme=theme, footer_links=[])
