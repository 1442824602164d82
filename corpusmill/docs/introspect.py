"""Reading pydantic config models for the docs: every key with its YAML path, a readable type
(`int >= 1`, `float in (0, 1] | null`, `list[str]`, literals listed), its default and nested models.
Used by corpusmill.docs.config_reference and tests/docs/test_docs.py."""
from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Callable, Iterator, Literal, Union

import annotated_types as at
import yaml
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

def iter_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, type[BaseModel], str, FieldInfo]]:
    """(YAML path, owning model, field name, FieldInfo) of every key, nested models included."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, model, name, info
        sub = nested_model(info.annotation)
        if sub is not None:
            yield from iter_fields(sub, path + ("[]" if is_list(info.annotation) else ""))


def type_args(tp) -> tuple:
    return typing.get_args(tp)


def is_union(tp) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def is_list(tp) -> bool:
    if is_union(tp):
        return any(is_list(a) for a in type_args(tp) if a is not type(None))
    return typing.get_origin(tp) is list


def nested_model(tp) -> type[BaseModel] | None:
    """The config model inside `Model`, `Model | None` or `list[Model]`, if any."""
    if typing.get_origin(tp) is typing.Annotated:
        return nested_model(type_args(tp)[0])
    if inspect.isclass(tp) and issubclass(tp, BaseModel):
        return tp
    if is_union(tp) or typing.get_origin(tp) is list:
        found = [m for a in type_args(tp) if (m := nested_model(a)) is not None]
        return found[0] if found else None
    return None


def _is_config_path(metadata: list) -> bool:
    from corpusmill.common.config import _resolve_against_config

    return any(isinstance(m, AfterValidator) and m.func is _resolve_against_config for m in metadata)


def _num(v) -> str:
    return str(v)


def bounds(metadata: list) -> tuple[str, str]:
    """Numeric bounds as text (`>= 1`, `in (0, 1]`) and length bounds (`at least 1`)."""
    lo = hi = None
    length = []
    for m in metadata:
        if isinstance(m, at.Gt):
            lo = ("(", m.gt)
        elif isinstance(m, at.Ge):
            lo = ("[", m.ge)
        elif isinstance(m, at.Lt):
            hi = (")", m.lt)
        elif isinstance(m, at.Le):
            hi = ("]", m.le)
        elif isinstance(m, at.MinLen) and m.min_length:
            length.append(f"at least {m.min_length}")
        elif isinstance(m, at.MaxLen):
            length.append(f"at most {m.max_length}")
    if lo and hi:
        num = f"in {lo[0]}{_num(lo[1])}, {_num(hi[1])}{hi[0]}"
    elif lo:
        num = (">" if lo[0] == "(" else ">=") + f" {_num(lo[1])}"
    elif hi:
        num = ("<" if hi[0] == ")" else "<=") + f" {_num(hi[1])}"
    else:
        num = ""
    return num, ", ".join(length)


def type_text(tp, metadata: list = (), link: Callable[[type], str] | None = None) -> str:
    """A readable type: `int >= 1`, `float in (0, 1] | null`, `list[str]`, `"a" | "b"`, `path`."""
    metadata = list(metadata)
    num, length = bounds(metadata)
    if typing.get_origin(tp) is typing.Annotated:
        inner, *meta = type_args(tp)
        return type_text(inner, [*meta, *metadata], link)
    if is_union(tp):
        members = [a for a in type_args(tp) if a is not type(None)]
        parts = [type_text(a, metadata, link) for a in members]
        if type(None) in type_args(tp):
            parts.append("null")
        return " | ".join(parts)
    if typing.get_origin(tp) is Literal:
        return " | ".join(f"`{yaml_flow(a)}`" for a in type_args(tp))
    if _is_config_path(metadata):
        base = "path"
    elif inspect.isclass(tp) and issubclass(tp, BaseModel):
        base = link(tp) if link else tp.__name__
    elif typing.get_origin(tp) in (list, tuple, dict):
        inner = [type_text(a, (), link) for a in type_args(tp) if a is not Ellipsis]
        if typing.get_origin(tp) is tuple:
            base = "[" + ", ".join(inner) + "]" + (" (any length)" if Ellipsis in type_args(tp) else "")
        else:
            base = f"{typing.get_origin(tp).__name__}[{', '.join(inner)}]"
    elif tp is Any:
        base = "any"
    elif inspect.isclass(tp):
        base = tp.__name__
    else:
        base = str(tp).replace("typing.", "")
    if num:
        base += f" {num}"
    if length:
        base += f" ({length})"
    return base


def default_of(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.get_default(call_default_factory=True, validated_data={})
    return info.default


def jsonable(v: Any, full: bool = False) -> Any:
    """Plain YAML-able data; a model shows only its non-default keys unless `full`."""
    if isinstance(v, BaseModel):
        return v.model_dump(mode="json", exclude_defaults=not full)
    if isinstance(v, (list, tuple)):
        return [jsonable(x, full) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x, full) for k, x in v.items()}
    return v


def yaml_flow(v: Any) -> str:
    """One value as inline YAML (`null`, `true`, `[en, zh]`, `{fraction: 0.005}`)."""
    text = yaml.safe_dump(jsonable(v), default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.removesuffix("...").strip()


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "*required*"
    value = default_of(info)
    if isinstance(value, BaseModel) and not jsonable(value):
        return "`{}` (every key at its default, below)"
    text = f"`{yaml_flow(value)}`"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 << 20 and value % (1 << 20) == 0:
        text += f" ({value >> 20} MiB)" if value < 1 << 30 or value % (1 << 30) else f" ({value >> 30} GiB)"
    return text
