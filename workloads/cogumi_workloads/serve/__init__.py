"""The predictor of a ModelDeployment: a KServe model server with OpenAI-compatible routes.

``python -m cogumi_workloads serve --config-env COGUMI_SERVER_CONFIG --port 8080`` loads the
base model (GGUF through llama-cpp-python, or a Hugging Face folder through transformers) with
its LoRA modifiers, registers it with KServe's ModelServer (v1/v2 protocol, /metrics) and adds
on the same FastAPI app: /v1/chat/completions, /v1/completions, /v1/models and the Gradio UI
at /ui. Heavy libraries are imported only by the backend that needs them.
"""
