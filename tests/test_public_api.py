"""The public names are a deliberate, small API: this test changes when it does."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib.metadata import version

import vaultline
from vaultline import errors

OTHERS = ["Bundle", "EmbeddedStore", "Explanation", "KeyManager", "KeyRing", "Layer", "Project",
          "Provenance", "Reference", "ResolvedValue", "Resolver", "Session", "__version__", "load"]


def _public_classes(base: type) -> set[str]:
    return {name for name, value in vars(errors).items()
            if inspect.isclass(value) and issubclass(value, base) and value.__module__ == errors.__name__
            and not name.startswith("_")}


def test_public_names() -> None:
    error_names = _public_classes(errors.VaultlineError)
    warning_names = _public_classes(errors.VaultlineWarning)
    assert {"ScanError", "CommandNotExecutableError", "VaultlineError"} <= error_names
    assert warning_names == {"VaultlineWarning", "AuditDamageWarning"}
    assert sorted(vaultline.__all__) == sorted([*OTHERS, *error_names, *warning_names])
    for name in vaultline.__all__:
        assert getattr(vaultline, name) is not None
    for name in error_names | warning_names:
        assert getattr(vaultline, name) is getattr(errors, name)
    assert issubclass(vaultline.ResolutionError, vaultline.VaultlineError)


def test_version_is_the_installed_distribution() -> None:
    assert vaultline.__version__ == version("vaultline")


def test_resolver_is_documented_as_the_unaudited_layer() -> None:
    doc = " ".join((vaultline.__doc__ or "").split())
    assert "``Resolver`` is the low-level, unaudited layer" in doc
    resolver_doc = " ".join((vaultline.Resolver.__doc__ or "").split())
    assert "unaudited" in resolver_doc and "Session" in resolver_doc


def test_importing_vaultline_is_cheap() -> None:
    """`import vaultline` loads no provider SDK, no YAML, no crypto: names load on first use."""
    code = ("import sys, vaultline; "
            "heavy = [m for m in ('yaml', 'cryptography', 'hvac', 'boto3', 'hyperscan', 'rich', "
            "'importlib.metadata', 'vaultline.errors') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
