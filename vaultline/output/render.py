"""Rendering a template with a resolved bundle: ``vaultline render`` and ``run --render``.

Templates are Jinja2 in its sandbox: attributes that reach Python internals
(``''.__class__``, ``cycler.__init__.__globals__``) are refused, there is no loader (so no
``include``, ``import`` or ``extends``: a template cannot read other files), and every name
must exist (``StrictUndefined``), so a typo is an error naming the template line rather than
an empty string in a config file. The output is written 0600 by a rename, so a reader
sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from vaultline._files import write_output
from vaultline._limits import read_bounded
from vaultline.errors import ConfigError
from vaultline.resolve.bundle import Bundle


def context(bundle: Bundle) -> dict[str, Any]:
    """Top-level names are the first key segments (``ConnectionStrings.Primary``); ``bundle``
    maps every flat key (``bundle["AI:OpenAI:ApiKey"]``)."""
    return {**bundle.nested(), "bundle": bundle.flat()}


def render_text(source: str, values: Mapping[str, Any], name: str) -> str:
    """`source` rendered with `values`; ConfigError naming ``name:line`` on any failure."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                       keep_trailing_newline=True)
    try:
        # Compiled under its file name, so Jinja's traceback frames carry template lines.
        code = environment.compile(source, name=name, filename=name)
        template = environment.template_class.from_code(
            environment, code, environment.make_globals(None))
        return template.render(values)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax: {exc.message}; fix the template",
                          file=name, line=exc.lineno) from None
    except jinja2.TemplateError as exc:
        # Undefined names, sandbox refusals, include/import without a loader. The message
        # names a key or an attribute, never a value.
        raise ConfigError(f"{_first_line(exc)}; the template can use the environment's keys "
                          "only", file=name, line=_template_line(sys.exc_info()[2], name)) \
            from None
    except TypeError as exc:
        line = _template_line(sys.exc_info()[2], name)
        if "no loader" in str(exc):
            raise ConfigError("a template cannot include, import or extend other files",
                              file=name, line=line) from None
        raise ConfigError(f"template failed: {type(exc).__name__}", file=name, line=line) \
            from None
    except (ValueError, ArithmeticError, LookupError) as exc:
        raise ConfigError(f"template failed: {type(exc).__name__}", file=name,
                          line=_template_line(sys.exc_info()[2], name)) from None


def render_file(template: Path, output: Path, bundle: Bundle) -> None:
    """Render `template` into `output` (0600, atomically)."""
    text = read_template(template)
    write_output(output, render_text(text, context(bundle), str(template)).encode("utf-8"))


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
