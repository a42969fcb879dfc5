"""Parse a lab function string into one allow-listed call, without evaluating anything.

The only accepted shape is a single call of an allow-listed bare name with literal arguments:
``get_voltage('CH1')``, ``set_sqr1(1000, duty=25)``, ``set_pv1(-2.5)``. The text is parsed
with :func:`ast.parse` and inspected; it is never passed to ``eval``/``exec``. Every argument
is type- and range-checked against :mod:`openevent.lab.functions`; values out of range are
rejected, never clamped. The API and the edge agent both run this (the agent never trusts the
cloud).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openevent.lab.functions import CHANNEL_ALIASES, FUNCTIONS, Function, Param

#: Longest function string accepted, in characters.
MAX_LENGTH = 200


class FunctionStringError(ValueError):
    """The text is not exactly one allow-listed call with valid literal arguments."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class LabCall:
    """A validated call: an allow-listed function name and its bound, checked arguments."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def to_text(self) -> str:
        """Canonical function string, e.g. ``get_voltage(channel='CH1')``; re-parses equal."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({inner})"

    def to_wire(self) -> dict[str, Any]:
        """JSON-able form: ``{"name": ..., "args": {...}}``."""
        return {"name": self.name, "args": dict(self.args)}

    @classmethod
    def from_wire(cls, data: Any) -> LabCall:
        """Rebuild and re-check a call from :meth:`to_wire` output (raises FunctionStringError)."""
        if not isinstance(data, Mapping):
            raise FunctionStringError("a call must be an object with name and args")
        name, args = data.get("name"), data.get("args", {})
        if not isinstance(name, str) or not isinstance(args, Mapping):
            raise FunctionStringError("a call must be an object with name and args")
        return validate_call(name, [], dict(args))

    @property
    def function(self) -> Function:
        return FUNCTIONS[self.name]


def parse_call(text: Any) -> LabCall:
    """Parse ``text`` into a :class:`LabCall`, or raise :class:`FunctionStringError`."""
    if not isinstance(text, str):
        raise FunctionStringError("the function string must be a string")
    if len(text) > MAX_LENGTH:
        raise FunctionStringError(f"the function string is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise FunctionStringError("the function string is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        # mode="eval" already refuses statements, so "a(); b()" lands here.
        raise FunctionStringError(
            "not a single function call like get_voltage('CH1')"
        ) from exc
    node = tree.body
    if not isinstance(node, ast.Call):
        raise FunctionStringError(
            "only a single function call is allowed, like get_voltage('CH1')")
    if not isinstance(node.func, ast.Name):
        raise FunctionStringError(
            "only a bare allow-listed function name may be called (no attributes or "
            "nested calls)")
    name = node.func.id
    if name not in FUNCTIONS:
        raise FunctionStringError(f"{_short(name)} is not an allowed lab function")
    positional: list[Any] = []
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise FunctionStringError("*args is not allowed")
        positional.append(_literal(arg))
    keywords: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise FunctionStringError("**kwargs is not allowed")
        if kw.arg in keywords:
            raise FunctionStringError(f"argument {kw.arg!r} given twice")
        keywords[kw.arg] = _literal(kw.value)
    return validate_call(name, positional, keywords)


def validate_call(name: str, positional: list[Any], keywords: Mapping[str, Any]) -> LabCall:
    """Bind literal values to ``name``'s signature with defaults and check every argument."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise FunctionStringError(f"{_short(name)} is not an allowed lab function")
    if len(positional) > len(fn.params):
        raise FunctionStringError(
            f"{fn.name}() takes at most {len(fn.params)} argument(s), got {len(positional)}")
    bound: dict[str, Any] = {}
    for param, value in zip(fn.params, positional, strict=False):
        bound[param.name] = value
    for key, value in keywords.items():
        if fn.param(key) is None:
            raise FunctionStringError(f"{fn.name}() has no argument {_short(str(key))!r}")
        if key in bound:
            raise FunctionStringError(f"{fn.name}() got argument {key!r} twice")
        bound[key] = value
    args: dict[str, Any] = {}
    for param in fn.params:
        if param.name in bound:
            args[param.name] = _check(fn, param, bound[param.name])
        elif param.required:
            raise FunctionStringError(f"{fn.name}() is missing argument {param.name!r}")
        else:
            args[param.name] = param.default
    return LabCall(fn.name, args)


def _literal(node: ast.expr) -> Any:
    """The value of a literal argument: a constant, or a number with a unary sign."""
    if isinstance(node, ast.Constant):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and _is_number(node.operand.value)):
        value: float = node.operand.value  # type: ignore[assignment]  # checked just above
        return -value if isinstance(node.op, ast.USub) else value
    raise FunctionStringError(
        "arguments must be literal strings or numbers (no names, expressions or calls)")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(fn: Function, param: Param, value: Any) -> Any:
    where = f"{fn.name}() argument {param.name!r}"
    if param.type == "str":
        if not isinstance(value, str):
            raise FunctionStringError(f"{where} must be a string")
        value = CHANNEL_ALIASES.get(value, value) if param.name == "channel" else value
    elif param.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise FunctionStringError(f"{where} must be a whole number")
    else:
        if not _is_number(value):
            raise FunctionStringError(f"{where} must be a number")
        if not math.isfinite(value):
            raise FunctionStringError(f"{where} must be a finite number")
    if param.choices is not None and value not in param.choices:
        allowed = ", ".join(repr(c) for c in param.choices)
        raise FunctionStringError(f"{where} must be one of {allowed}")
    if param.minimum is not None and value < param.minimum:
        raise FunctionStringError(f"{where} must be at least {param.minimum:g}")
    if param.maximum is not None and value > param.maximum:
        raise FunctionStringError(f"{where} must be at most {param.maximum:g}")
    return value


def _short(text: str) -> str:
    """Echo user text back in messages without letting it grow them."""
    return text if len(text) <= 40 else text[:37] + "..."
