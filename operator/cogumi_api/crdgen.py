"""CustomResourceDefinitions generated from the pydantic models (pure functions, no I/O).

Pydantic's JSON Schema is turned into a Kubernetes *structural* OpenAPI v3 schema: references
inlined, optionals flattened (unset fields are omitted, never null), OpenAPI 3.0 exclusive
bounds, free-form maps marked ``x-kubernetes-preserve-unknown-fields`` and the models' CEL
rules kept as ``x-kubernetes-validations``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cogumi_api.meta import GROUP, VERSION, Status
from cogumi_api.registry import KINDS, KindInfo

_KEEP = {
    "type", "description", "enum", "format", "pattern", "minimum", "maximum", "minLength", "maxLength",
    "minItems", "maxItems", "x-kubernetes-validations", "x-kubernetes-list-type",
}


class SchemaError(ValueError):
    """A model uses a construct that has no structural-schema equivalent."""


def _scalar_default(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)


def _convert(node: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, path)
    if "allOf" in node and len(node["allOf"]) == 1:
        inner = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        return _convert(inner, defs, path)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) != 1:
            raise SchemaError(f"{path}: unions are not structural; use one type")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if rest.get("default", 0) is None:
            rest.pop("default")
        return _convert({**options[0], **rest}, defs, path)

    out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
    if "const" in node:
        out["enum"] = [node["const"]]
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if bound in node:
            out[plain] = node[bound]
            out[bound] = True
    if "default" in node and _scalar_default(node["default"]):
        out["default"] = node["default"]

    kind = out.get("type")
    if kind == "object" or "properties" in node:
        out["type"] = "object"
        props = node.get("properties", {})
        if props:
            out["properties"] = {k: _convert(v, defs, f"{path}.{k}") for k, v in props.items()}
            if node.get("required"):
                out["required"] = list(node["required"])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            out["additionalProperties"] = _convert(extra, defs, f"{path}[*]")
        elif not props and extra is not False:
            out["x-kubernetes-preserve-unknown-fields"] = True
    elif kind == "array":
        out["items"] = _convert(node.get("items", {}), defs, f"{path}[]")
    elif not kind and "enum" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _convert(raw, defs, model.__name__)


_COLUMNS = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Stage", "type": "string", "jsonPath": ".status.stage"},
    {"name": "Gates", "type": "string", "jsonPath": ".status.gatesSummary"},
    {"name": "Size", "type": "string", "jsonPath": ".status.size"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
_RESULT_COLUMNS = [
    {"name": "Stage", "type": "string", "jsonPath": ".spec.stage"},
    {"name": "Attempt", "type": "integer", "jsonPath": ".spec.attempt"},
    {"name": "Outcome", "type": "string", "jsonPath": ".spec.outcome"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def crd(info: KindInfo) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": structural_schema(info.spec),
    }
    version: dict[str, Any] = {"name": VERSION, "served": True, "storage": True}
    if info.has_status:
        properties["status"] = structural_schema(Status)
        version["subresources"] = {"status": {}}
        version["additionalPrinterColumns"] = _COLUMNS
    else:
        version["additionalPrinterColumns"] = _RESULT_COLUMNS
    version["schema"] = {"openAPIV3Schema": {
        "type": "object", "description": info.description,
        "properties": properties, "required": ["spec"],
    }}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{info.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": info.kind, "listKind": f"{info.kind}List", "plural": info.plural,
                "singular": info.singular, "shortNames": list(info.short_names),
                "categories": list(info.categories),
            },
            "versions": [version],
        },
    }


def all_crds() -> dict[str, dict[str, Any]]:
    """File name → CRD for every kind."""
    return {f"{GROUP}_{info.plural}.yaml": crd(info) for info in KINDS}
