"""Runtime injected into the script sandbox (runs *inside* it, standard library only).

It is copied next to the user's script and started as ``python -I -S runtime.py``. It talks
to the agent over its stdin/stdout, one JSON object per line:

    script → agent  {"op": "call", "function": "get_voltage('CH1')"}
                    {"op": "widget", "widget": {"type": "text", "text": "..."}}
                    {"op": "end", "error": null | "ZeroDivisionError: ... (line 3)"}
    agent → script  {"ok": true, "value": ...} | {"ok": false, "error": "..."}

Device functions here only *format* a function string from literal values; the agent parses
it again with the lab grammar and the allow-list decides. Nothing in this file is trusted.
"""

import builtins
import json
import os
import sys
import traceback

_FUNCTIONS = json.loads(os.environ.get("LAB_FUNCTIONS", "[]")) or []
# numpy, bound read-only by the agent (the only package outside the standard library).
if os.path.isdir(os.environ.get("LAB_LIB", "/sandbox-lib")):
    sys.path.append(os.environ.get("LAB_LIB", "/sandbox-lib"))
_SCRIPT = os.environ.get("LAB_SCRIPT", "/sandbox/script.py")

# The protocol channel is a private copy of stdout; fd 1 then goes to /dev/null so stray
# writes to sys.__stdout__ cannot corrupt it by accident.
_chan_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
_chan_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)
sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
sys.stdin = open(os.devnull)  # noqa: SIM115


class LabError(Exception):
    """A device call or widget was refused or failed."""


def _request(message):
    _chan_out.write(json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n")
    line = _chan_in.readline()
    if not line:
        raise SystemExit(3)  # the agent has gone away
    reply = json.loads(line)
    if not reply.get("ok"):
        raise LabError(reply.get("error") or "refused")
    return reply.get("value")


def _literal(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError("lab functions take only strings and numbers, got "
                        + type(value).__name__)
    return repr(value)


def _device_function(name):
    def call(*args, **kwargs):
        parts = [_literal(a) for a in args]
        parts += [f"{k}={_literal(v)}" for k, v in kwargs.items()]
        return _request({"op": "call", "function": f"{name}({', '.join(parts)})"})

    call.__name__ = name
    return call


def _widget(widget):
    _request({"op": "widget", "widget": widget})


def lab_print(*args, sep=" ", end="\n", **_ignored):
    """print(...) → a text widget."""
    text = str(sep).join(str(a) for a in args)
    _widget({"type": "text", "text": text})


def label(text):
    """A label widget."""
    _widget({"type": "label", "text": str(text)})


def button(label, function, display_type="number", target=None):  # noqa: A002
    """A button that executes ``function`` (a function string) when pressed."""
    _widget({"type": "button", "label": str(label), "function": str(function),
             "display": str(display_type), "target": None if target is None else str(target)})


def plot(x, y, title=None, xlabel=None, ylabel=None):
    """A plot of the points (x[i], y[i]); xlabel/ylabel name the axes with their units."""
    xs, ys = [float(v) for v in x], [float(v) for v in y]
    if len(xs) != len(ys):
        raise ValueError("plot(x, y) needs x and y of the same length")
    widget = {"type": "plot", "x": xs, "y": ys, "title": None if title is None else str(title)}
    if xlabel is not None:
        widget["xlabel"] = str(xlabel)
    if ylabel is not None:
        widget["ylabel"] = str(ylabel)
    _widget(widget)


def _main():
    namespace = {"__name__": "__main__", "__builtins__": builtins, "print": lab_print,
                 "label": label, "button": button, "plot": plot, "LabError": LabError}
    for name in _FUNCTIONS:
        namespace[name] = _device_function(name)
    error = None
    try:
        with open(_SCRIPT, encoding="utf-8") as fh:
            code = compile(fh.read(), "script.py", "exec")
        exec(code, namespace)  # noqa: S102 - this *is* the sandbox
    except SystemExit:
        pass
    except BaseException as exc:  # report any failure of the user's script
        line = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == "script.py":
                line = frame.lineno
        error = f"{type(exc).__name__}: {exc}"[:400]
        if line is not None:
            error += f" (line {line})"
    try:
        _chan_out.write(json.dumps({"op": "end", "error": error}) + "\n")
        _chan_out.flush()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    _main()
