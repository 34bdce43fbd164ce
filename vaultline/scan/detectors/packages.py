"""Package registries: npm, PyPI, RubyGems, NuGet, Clojars, Docker Hub, Pulumi, Terraform Cloud."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("npm-access-token", "npm access token",
         START + r"(npm_[A-Za-z0-9]{36})" + END, keywords=("npm_",), min_entropy=3.5),
    rule("pypi-upload-token", "PyPI upload token (a macaroon for pypi.org)",
         START + r"(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})" + END,
         keywords=("pypi-AgEIcHlwaS5vcmc",)),
    rule("rubygems-api-key", "RubyGems API key",
         START + r"(rubygems_[a-f0-9]{48})" + END, keywords=("rubygems_",), min_entropy=3.0),
    rule("nuget-api-key", "NuGet API key",
         START + r"(oy2[a-z0-9]{43})" + END, anchors=("oy2[a-z0-9]{43}",), min_entropy=3.5),
    rule("clojars-api-token", "Clojars deploy token",
         START + r"(CLOJARS_[a-z0-9]{60})" + END, keywords=("CLOJARS_",), min_entropy=3.0),
    rule("dockerhub-pat", "Docker Hub personal access token",
         START + r"(dckr_pat_[A-Za-z0-9_-]{27})" + END, keywords=("dckr_pat_",),
         min_entropy=3.5),
    rule("pulumi-access-token", "Pulumi access token",
         START + r"(pul-[a-f0-9]{40})" + END, keywords=("pul-",), min_entropy=3.0),
    rule("terraform-cloud-token", "Terraform Cloud / Enterprise API token",
         START + r"([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})" + END,
         keywords=(".atlasv1.",), min_entropy=3.5),
)
