"""Inventory speed: ``scan_tree`` vs a bare ``yaml.load_all`` (libyaml) over the same files.

Generates 20,000 manifests under bench/_work/inventory/ (multi-document files; the kinds a
GitOps repo holds, mostly workloads plus every secret kind; ~5% of files Helm templates),
then times both in this process, alternating runs, and prints the best of each.
The ratio is printed last.

    .venv/bin/python bench/inventory.py [--manifests 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from vaultline.inventory import scan_tree

WORK = Path(__file__).parent / "_work" / "inventory"
NAMESPACES = ["apps", "payments", "identity", "data", "platform", "observability"]


def deployment(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: &labels
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: shop
spec:
  replicas: {rng.randint(1, 5)}
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      containers:
        - name: {name}
          image: ghcr.io/example/{name}:1.{rng.randint(0, 40)}.0
          ports: [{{containerPort: 8080}}]
          envFrom:
            - secretRef: {{name: {name}-env}}
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""


def service(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app.kubernetes.io/name: {name}}}
  ports:
    - port: 80
      targetPort: 8080
"""


def configmap(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
  app.yaml: |
    server:
      port: 8080
      timeout: {rng.randint(5, 60)}s
"""


def secret(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}-env
  namespace: {ns}
type: Opaque
stringData:
  API_TOKEN: not-a-real-token-{rng.randint(0, 10**6)}
"""


def external_secret(rng: random.Random, name: str, ns: str) -> str:
    api = rng.choice(["external-secrets.io/v1", "external-secrets.io/v1beta1"])
    return f"""apiVersion: {api}
kind: ExternalSecret
metadata:
  name: {name}
  namespace: {ns}
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: {rng.choice(["azure-kv", "vault-backend"])}
  target:
    name: {name}-env
    creationPolicy: Owner
  data:
    - secretKey: API_KEY
      remoteRef: {{key: {ns}/{name}/api-key}}
    - secretKey: DSN
      remoteRef:
        key: {ns}/{name}/db
        property: dsn
  dataFrom:
    - extract: {{key: {ns}/{name}/shared}}
"""


def push_secret(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: {name}-mirror, namespace: {ns}}}
spec:
  refreshInterval: 10m
  secretStoreRefs:
    - name: vault-backend
      kind: ClusterSecretStore
  selector:
    secret: {{name: {name}-db-app}}
  data:
    - match:
        secretKey: password
        remoteRef: {{remoteKey: mirror/{ns}/{name}/db, property: password}}
"""


def sealed_secret(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: {name}-sealed
  namespace: {ns}
spec:
  encryptedData:
    token: AgB{rng.getrandbits(256):064x}
  template:
    metadata: {{name: {name}-sealed, namespace: {ns}}}
"""


def cnpg_cluster(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {{name: {name}-db, namespace: {ns}}}
spec:
  instances: 3
  storage: {{size: 10Gi}}
  managed:
    roles:
      - name: reporting
        login: true
        passwordSecret: {{name: {name}-reporting}}
"""


def store(rng: random.Random, name: str, ns: str) -> str:
    return f"""apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: {name}-store, namespace: {ns}}}
spec:
  provider:
    vault:
      server: https://vault.example.internal:8200
      path: secret
      version: v2
      auth:
        kubernetes: {{mountPath: kubernetes, role: {name}}}
"""


def helm_secret(rng: random.Random, name: str, ns: str) -> str:
    return f"""{{{{- if .Values.{name.replace("-", "")}.enabled }}}}
apiVersion: v1
kind: Secret
metadata:
  name: {{{{ include "chart.fullname" . }}}}-{name}
  namespace: {{{{ .Release.Namespace }}}}
  labels:
    {{{{- include "chart.labels" . | nindent 4 }}}}
data:
  password: {{{{ randAlphaNum 32 | b64enc | quote }}}}
{{{{- end }}}}
"""


# Weights: workloads dominate a real repo; every secret kind is present.
KINDS: list[tuple[Callable[[random.Random, str, str], str], int]] = [
    (deployment, 30), (service, 20), (configmap, 15), (external_secret, 12), (secret, 6),
    (sealed_secret, 5), (push_secret, 4), (cnpg_cluster, 4), (store, 4),
]


def generate(root: Path, manifests: int) -> int:
    marker = root / f".complete-{manifests}"
    if marker.exists():
        return sum(1 for _ in root.rglob("*.yaml"))
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(7)
    funcs = [f for f, _ in KINDS]
    weights = [w for _, w in KINDS]
    written = files = 0
    while written < manifests:
        ns = rng.choice(NAMESPACES)
        app = f"svc-{files:05d}"
        directory = root / ns / app[:7]
        directory.mkdir(parents=True, exist_ok=True)
        if rng.random() < 0.05:  # a Helm chart template
            (directory / f"{app}-secret.yaml").write_text(helm_secret(rng, app, ns))
            written += 1
        else:
            count = min(rng.choice([1, 1, 2, 3, 4]), manifests - written)
            docs = [rng.choices(funcs, weights)[0](rng, app, ns) for _ in range(count)]
            (directory / f"{app}.yaml").write_text("---\n".join(docs))
            written += count
        files += 1
    # The platform's cluster stores, as a GitOps repo defines them once.
    (root / "platform").mkdir(exist_ok=True)
    (root / "platform" / "stores.yaml").write_text(
        "".join(
            f"---\napiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\n"
            f"metadata: {{name: {name}}}\nspec:\n  provider:\n    {provider}\n"
            for name, provider in [
                ("azure-kv", "azurekv: {vaultUrl: 'https://kv.example.net'}"),
                ("vault-backend", "vault: {server: 'https://vault:8200', path: secret}"),
            ]
        )
    )
    marker.write_text("")
    return files + 1


def bare_load(root: Path) -> int:
    docs = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if not name.endswith((".yaml", ".yml")):
                continue
            with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                text = fh.read()
            # Helm templates do not parse; the bare loader just gives up on them.
            with contextlib.suppress(yaml.YAMLError):
                docs += sum(1 for _ in yaml.load_all(text, Loader=yaml.CSafeLoader))
    return docs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not getattr(yaml, "__with_libyaml__", False):
        print("PyYAML was built without libyaml; the comparison would be meaningless")
        return 2
    files = generate(WORK, args.manifests)
    print(f"corpus: {args.manifests} manifests in {files} files under {WORK}")
    bare_times: list[float] = []
    scan_times: list[float] = []
    resources = findings = docs = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        docs = bare_load(WORK)
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        inventory = scan_tree(WORK)
        scan_times.append(time.perf_counter() - start)
        resources, findings = len(inventory.resources), len(inventory.findings)
    best_bare, best_scan = min(bare_times), min(scan_times)
    print(f"yaml.load_all (CSafeLoader): {best_bare:.3f}s best of {args.runs} "
          f"(median {statistics.median(bare_times):.3f}s), {docs} documents")
    print(f"vaultline inventory:         {best_scan:.3f}s best of {args.runs} "
          f"(median {statistics.median(scan_times):.3f}s), {resources} resources, "
          f"{findings} findings")
    print(f"ratio vaultline/yaml-cload: {best_scan / best_bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
