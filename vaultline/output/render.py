"""Rendering a template with a resolved bundle: ``vaultline render`` and ``run --render``.

Templates are Jinja2 in its sandbox: attributes that reach Python internals
(``''.__class__``, ``cycler.__init__.__globals__``) are refused, there is no loader (so no
``include``, ``import`` or ``extends``: a template cannot read other files), and every name
must exist (``StrictUndefined``), so a typo is an error naming the template line rather than
an empty string in a config file. The output is written 0600 by a rename, so a reader
sees the old file or the new one, never half of one.

The sandbox refuses internals, not work: ``{{ 'x' * 10**10 }}``, ``{{ 2 ** (10**10) }}``, nested
``range`` loops or a string doubled in a loop would fill memory or never end. So a template is
rendered in a child interpreter under CPU and address-space limits (``-I``, an empty
environment: nothing of vaultline's credentials), its output capped; a template over a limit
is an error naming it, and vaultline itself never holds more than the capped output.
"""

from __future__ import annotations

import io
import json
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from vaultline._files import write_output
from vaultline._limits import read_bounded
from vaultline.errors import ConfigError
from vaultline.resolve.bundle import Bundle

#: What one render may use. A template is a config file: real ones need a fraction of this.
MAX_OUTPUT_BYTES = 16 << 20
RENDER_CPU_SECONDS = 3
RENDER_MEMORY_BYTES = 256 << 20
#: Wall-clock bound on a render (the CPU limit is what stops a busy template; this one is for
#: a machine so loaded that the child hardly runs).
_RENDER_WALL_SECONDS = 120
_OUT_OF_CPU = 3  # the render child's exit status when its CPU time ran out

# The render child. It reads the template and the values from the pipe, never from argv, a
# file or the environment, and answers with a status line and the text (or the error as
# JSON). Only the import path is in argv: the child makes itself non-dumpable before it reads
# a value, so a `run --watch --render` command cannot read them from its memory.
_WORKER = """\
import pickle, sys
sys.path[:0] = sys.argv[1:]
from vaultline._dumpable import make_non_dumpable
make_non_dumpable()
from vaultline.output.render import _render_child
sys.stdout.buffer.write(_render_child(*pickle.load(sys.stdin.buffer)))
"""


def context(bundle: Bundle) -> dict[str, Any]:
    """Top-level names are the first key segments (``ConnectionStrings.Primary``); ``bundle``
    maps every flat key (``bundle["AI:OpenAI:ApiKey"]``)."""
    return {**bundle.nested(), "bundle": bundle.flat()}


def render_text(source: str, values: Mapping[str, Any], name: str,
                secrets: Iterable[str] = ()) -> str:
    """`source` rendered with `values` in a child under the render limits; ConfigError naming
    ``name:line`` on any failure, a limit reached included, with ``secrets`` masked in it."""
    payload = pickle.dumps((source, dict(values), name))
    # `-I`: no PYTHON* variables, no user site; the empty environment holds no credential.
    proc = subprocess.Popen([sys.executable, "-I", "-c", _WORKER, *sys.path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={})
    try:
        out, _ = proc.communicate(payload, timeout=_RENDER_WALL_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise ConfigError(f"the template did not finish within {_RENDER_WALL_SECONDS}s; "
                          "simplify its loops", file=name) from None
    status, _, body = out.partition(b"\n")
    if proc.returncode == 0 and status == b"ok":
        return body.decode("utf-8", "surrogatepass")
    if proc.returncode == 0 and status == b"error":
        error = json.loads(body)
        # Jinja names what it could not look up, and a template can look up by a value
        # (`bundle[Db.Password]`, `attr(...)`, `map(...)`): the message may quote a secret.
        from vaultline.redact import Masker

        raise ConfigError(Masker(secrets).mask_str(error["message"]), file=name,
                          line=error["line"])
    if proc.returncode in (_OUT_OF_CPU, -signal.SIGXCPU, -signal.SIGKILL):
        raise ConfigError(_CPU_MESSAGE, file=name)
    raise ConfigError(f"the template could not be rendered (exit status {proc.returncode})",
                      file=name)


_CPU_MESSAGE = f"the template used more than {RENDER_CPU_SECONDS}s of CPU; simplify its loops"


class _OutOfCpu(BaseException):
    """The render child's CPU time ran out (a BaseException: no filter's handler catches it)."""


def _render_child(source: str, values: Mapping[str, Any], name: str) -> bytes:
    """In the render child: the limits set, then ``ok`` and the output, or ``error`` and the
    ConfigError as JSON."""
    import os
    import resource

    def out_of_cpu(_signal: int, _frame: object) -> None:
        # Raised where the template is, so the error names its line; should the render not
        # get back to Python (one huge power), the hard limit's SIGKILL a second later ends it.
        signal.signal(signal.SIGXCPU, lambda _s, _f: os._exit(_OUT_OF_CPU))
        raise _OutOfCpu

    # SIGXCPU's default action dumps core, and a core file would hold the bundle.
    signal.signal(signal.SIGXCPU, out_of_cpu)
    _lower_limit(resource.RLIMIT_CORE, 0)
    _lower_limit(resource.RLIMIT_CPU, RENDER_CPU_SECONDS)  # then SIGXCPU; a second more, SIGKILL
    _lower_limit(resource.RLIMIT_AS, RENDER_MEMORY_BYTES)
    try:
        text = _render_here(source, values, name)
    except _OutOfCpu:
        line = _template_line(sys.exc_info()[2], name)
        return b"error\n" + json.dumps({"message": _CPU_MESSAGE, "line": line}).encode()
    except ConfigError as exc:
        return b"error\n" + json.dumps({"message": exc.message, "line": exc.line}).encode()
    except MemoryError:
        line = _template_line(sys.exc_info()[2], name)
        return b"error\n" + json.dumps({
            "message": f"the template needs more than {RENDER_MEMORY_BYTES >> 20} MiB of "
                       "memory; it may build no value that large", "line": line}).encode()
    return b"ok\n" + text.encode("utf-8", "surrogatepass")


def _lower_limit(which: int, soft: int) -> None:
    """Lower a resource limit to `soft` (a hard limit one more), never above the hard one."""
    import resource

    _, hard = resource.getrlimit(which)
    cap = soft + 1 if hard == resource.RLIM_INFINITY else min(soft + 1, hard)
    resource.setrlimit(which, (min(soft, cap), cap))


def _render_here(source: str, values: Mapping[str, Any], name: str) -> str:
    """`source` rendered with `values` in this process, the output capped (the render child
    calls it under its limits)."""
    import jinja2

    try:
        environment, written = _environment(source, name)
        # Not optimized: folding `{{ 10**5000 }}` at compile time fails outside any template
        # line; rendered, the failure names its line like any other.
        code = environment.compile(source, name=name, filename=name)
        template = environment.template_class.from_code(
            environment, code, environment.make_globals(None))
        # One buffer, not a list of pieces: millions of one-character pieces would need
        # gigabytes of string objects before the output reached its cap.
        output = io.StringIO()
        size = 0
        for piece in template.generate(values):
            size += len(piece.encode("utf-8", "surrogatepass"))
            if size > MAX_OUTPUT_BYTES:
                raise ConfigError(f"the template's output is larger than "
                                  f"{MAX_OUTPUT_BYTES >> 20} MiB; a template renders a config "
                                  "file", file=name)
            output.write(piece)
        return output.getvalue()
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax: {exc.message}; fix the template",
                          file=name, line=exc.lineno) from None
    except jinja2.TemplateError as exc:
        # Undefined names, sandbox refusals, include/import without a loader. The message
        # quotes what was looked up, which the template can compute from a value
        # (`bundle[Db.Password|reverse]`): it quotes only what the template itself spells.
        raise ConfigError(f"{_written_only(_first_line(exc), written)}; the template can use "
                          "the environment's keys only", file=name,
                          line=_template_line(sys.exc_info()[2], name)) from None
    except _OutOfCpu:
        # Jinja maps a traceback to template lines only for an Exception.
        from jinja2.debug import rewrite_traceback_stack

        line = _template_line(rewrite_traceback_stack(source).__traceback__, name)
        raise ConfigError(_CPU_MESSAGE, file=name, line=line) from None
    except (ConfigError, MemoryError):
        raise
    except Exception as exc:
        # Any filter's failure (`truncate(-1)` asserts), named by its type only: Python's
        # messages quote values (`int('hunter2')`).
        line = _template_line(sys.exc_info()[2], name)
        if isinstance(exc, TypeError) and "no loader" in str(exc):
            raise ConfigError("a template cannot include, import or extend other files",
                              file=name, line=line) from None
        raise ConfigError(f"template failed: {type(exc).__name__}", file=name, line=line) \
            from None


def _environment(source: str, name: str) -> tuple[Any, frozenset[object]]:
    """The sandbox a template renders in, and what the template spells: its names, attribute
    names and constants (the only things an error message may quote)."""
    import jinja2
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment
    from jinja2.utils import missing, object_type_repr

    written: set[object] = set()

    class Undefined(jinja2.StrictUndefined):
        """StrictUndefined whose message quotes a name only when the template spells it."""

        @property
        def _undefined_message(self) -> str:
            if self._undefined_hint:
                return self._undefined_hint
            shown = _shown(self._undefined_name, written)
            if self._undefined_obj is missing:
                return f"{shown} is undefined"
            what = "attribute" if isinstance(self._undefined_name, str) else "element"
            return f"{object_type_repr(self._undefined_obj)} has no {what} {shown}"

    class Sandbox(SandboxedEnvironment):
        def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
            return self.undefined(f"access to attribute {_shown(attribute, written)} of "
                                  f"{type(obj).__name__} object is unsafe", name=attribute,
                                  obj=obj, exc=jinja2.exceptions.SecurityError)

    environment = Sandbox(undefined=Undefined, autoescape=False, keep_trailing_newline=True,
                          optimized=False)
    for node in environment.parse(source, name=name, filename=name).find_all(nodes.Node):
        for field in node.fields:
            value = getattr(node, field, None)
            if isinstance(value, str | int | float):
                written.add(value)
    return environment, frozenset(written)


#: A quoted string in an error message (Python's repr of one).
_QUOTED = r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""


def _written_only(message: str, written: frozenset[object] | set[object]) -> str:
    """`message` with every quoted string the template does not spell replaced."""
    import ast
    import re

    def keep(match: re.Match[str]) -> str:
        try:
            value = ast.literal_eval(match.group())
        except (ValueError, SyntaxError):
            return _COMPUTED
        return _shown(value, written)

    return re.sub(_QUOTED, keep, message)


_COMPUTED = "(a name the template computed)"


def _shown(value: object, written: frozenset[object] | set[object]) -> str:
    """``repr(value)`` if the template spells it, else words saying it was computed."""
    try:
        spelled = type(value) in (str, int, float) and value in written
    except TypeError:
        spelled = False
    return repr(value) if spelled else _COMPUTED


def render_file(template: Path, output: Path, bundle: Bundle) -> None:
    """Render `template` into `output` (0600, atomically)."""
    text = read_template(template)
    write_output(output, render_text(text, context(bundle), str(template),
                                     bundle.secret_values()).encode("utf-8"))


def read_template(template: Path) -> str:
    """The template's text: a regular file within its limit (a FIFO is refused, not waited
    on; a template is a config file, not a data set)."""
    try:
        data = read_bounded(template, name="template", what="the template")
    except OSError as exc:
        raise ConfigError(f"cannot read template: {exc.strerror}", file=str(template)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("template is not UTF-8 text", file=str(template)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0].rstrip(".")


def _template_line(tb: TracebackType | None, name: str) -> int | None:
    """The line of the innermost traceback frame that Jinja attributes to the template."""
    line: int | None = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
