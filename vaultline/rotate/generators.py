"""Where a new secret value comes from: ``password:LEN[:CLASSES]``, ``token:BYTES``, ``command:…``.

``command:`` runs a program (a provider's key-issuing script) and takes the key from its
standard output; the key never appears in an argument list, and the program gets the
caller's environment without vaultline's own credentials (master key, key file).
"""

from __future__ import annotations

import os
import secrets
import shlex
import string
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vaultline.errors import ConfigError, VaultlineError

_CLASSES = {"a": string.ascii_lowercase, "A": string.ascii_uppercase, "0": string.digits,
            "!": "-_.~+=^"}
DEFAULT_CLASSES = "aA0"
MAX_OUTPUT = 64 * 1024
COMMAND_TIMEOUT = 60.0


class GeneratorError(VaultlineError):
    """A generator could not produce a value (the command failed, printed nothing)."""


@dataclass(frozen=True)
class Generator:
    kind: str  # password | token | command
    length: int = 0
    classes: str = DEFAULT_CLASSES
    command: str = ""

    @classmethod
    def parse(cls, text: str) -> Generator:
        kind, _, rest = text.partition(":")
        if kind == "password":
            length_text, _, classes = rest.partition(":")
            length = _number(length_text, "password:LEN", 12, 1024)
            classes = classes or DEFAULT_CLASSES
            if any(c not in _CLASSES for c in classes) or len(set(classes)) != len(classes):
                raise ConfigError(f"password classes {classes!r}: use a (lower), A (upper), "
                                  "0 (digits), ! (symbols), each once, e.g. password:32:aA0")
            if length < len(classes):
                raise ConfigError("password:LEN must be at least one character per class")
            return cls("password", length, classes)
        if kind == "token":
            return cls("token", _number(rest, "token:BYTES", 16, 512))
        if kind == "command":
            if not rest.strip():
                raise ConfigError("command: needs a command, e.g. command:./scripts/new-key")
            return cls("command", command=rest.strip())
        raise ConfigError(f"generator {text!r}: use password:LEN[:CLASSES], token:BYTES or "
                          "command:PROGRAM")

    def __str__(self) -> str:
        if self.kind == "password":
            return f"password:{self.length}:{self.classes}"
        if self.kind == "token":
            return f"token:{self.length}"
        return f"command:{self.command}"

    def generate(self, cwd: Path, environ: Mapping[str, str] | None = None) -> str:
        if self.kind == "password":
            return _password(self.length, self.classes)
        if self.kind == "token":
            return secrets.token_urlsafe(self.length)
        from vaultline.runtime.childenv import child_environment

        # Never vaultline's own credentials (master key, key file); a command that issues a
        # provider's key keeps the provider credentials it needs for that.
        env = child_environment(os.environ if environ is None else environ, ()).inherited
        return _run(self.command, cwd, env)


def _number(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{what}: give a number from {low} to {high}, not {text!r}")
    return int(text)


def _password(length: int, classes: str) -> str:
    """At least one character of every class, the rest from all of them, shuffled."""
    alphabet = "".join(_CLASSES[c] for c in classes)
    chars = [secrets.choice(_CLASSES[c]) for c in classes]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    argv = shlex.split(command)
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    except FileNotFoundError:
        raise GeneratorError(f"generator command {argv[0]!r} not found (run from {cwd})") from None
    except subprocess.TimeoutExpired:
        raise GeneratorError(f"generator command {argv[0]!r} did not finish in "
                             f"{COMMAND_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        # Its stderr may echo the key it was issuing: name the exit status only.
        raise GeneratorError(f"generator command {argv[0]!r} exited with {done.returncode}")
    if len(done.stdout) > MAX_OUTPUT:
        raise GeneratorError(f"generator command {argv[0]!r} printed more than {MAX_OUTPUT} bytes")
    value = done.stdout.decode("utf-8", "replace").strip()
    if not value or "\n" in value:
        raise GeneratorError(f"generator command {argv[0]!r} must print one key on one line")
    return value
