"""The public names are a deliberate, small API: this test changes when it does."""

from __future__ import annotations

import subprocess
import sys

import vaultline

PUBLIC = ["Bundle", "ConfigError", "EmbeddedStore", "Explanation", "KeyManager", "KeyRing",
          "Layer", "Project", "Provenance", "ProviderError", "Reference", "ResolutionError",
          "ResolvedValue", "Resolver", "VaultlineError", "load"]


def test_public_names() -> None:
    assert sorted(vaultline.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(vaultline, name) is not None
    assert issubclass(vaultline.ResolutionError, vaultline.VaultlineError)


def test_importing_vaultline_is_cheap() -> None:
    """`import vaultline` loads no provider SDK, no YAML, no crypto: names load on first use."""
    code = ("import sys, vaultline; "
            "heavy = [m for m in ('yaml', 'cryptography', 'hvac', 'boto3', 'hyperscan', 'rich') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
