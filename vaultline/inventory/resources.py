"""Per-kind extraction: from one parsed document to the secret-relevant fields.

One small function per kind, registered in ``EXTRACTORS``. They read what the CRDs define
(ESO ``v1``/``v1beta1``/``v1alpha1``, Bitnami SealedSecret, CloudNativePG ``Cluster``, kustomize
``secretGenerator``) and tolerate anything else: a field of the wrong type is skipped, never
an exception. Values of Secret data are looked at only to tell literal from templated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vaultline.inventory.loader import Document
from vaultline.inventory.model import RemoteRef, Resource, StoreRef

Fix = Callable[[str], str]

CNPG_GROUPS = ("postgresql.cnpg.io/", "postgresql.k8s.enterprisedb.io/")
_SEALED_SCOPE_ANNOTATIONS = (
    ("sealedsecrets.bitnami.com/cluster-wide", "cluster-wide"),
    ("sealedsecrets.bitnami.com/namespace-wide", "namespace-wide"),
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, fix: Fix) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return fix(value) if isinstance(value, str) else str(value)


def is_templated(value: str | None) -> bool:
    return value is not None and ("{{" in value or "${" in value or "{%" in value)


def _store_ref(value: Any, fix: Fix) -> StoreRef | None:
    ref = _dict(value)
    name = _text(ref.get("name"), fix)
    if not name:
        return None
    return StoreRef(name, _text(ref.get("kind"), fix) or "SecretStore")


def _generator(value: Any, fix: Fix) -> str | None:
    ref = _dict(value)
    if not ref:
        return None
    return f"{_text(ref.get('kind'), fix) or 'Generator'}/{_text(ref.get('name'), fix) or '?'}"


def _es_spec(r: Resource, spec: dict[str, Any], default_target: str | None, fix: Fix) -> None:
    """ExternalSecret spec, shared with ClusterExternalSecret's ``externalSecretSpec``."""
    default_store = _store_ref(spec.get("secretStoreRef"), fix)
    stores: dict[StoreRef, None] = {}
    remotes: list[RemoteRef] = []
    generators: list[str] = []
    items = [(i, "data") for i in _list(spec.get("data"))]
    items += [(i, "dataFrom") for i in _list(spec.get("dataFrom"))]
    for raw, section in items:
        item = _dict(raw)
        source = _dict(item.get("sourceRef"))
        generator = _generator(source.get("generatorRef"), fix)
        if generator:  # generated in-cluster by ESO: not a store read
            generators.append(generator)
            continue
        store = _store_ref(source.get("storeRef"), fix) or default_store
        if store is not None:
            stores[store] = None
        store_name = store.name if store else None
        if section == "data":
            ref = _dict(item.get("remoteRef"))
            key = _text(ref.get("key"), fix)
            if key is not None:
                prop = _text(ref.get("property"), fix)
                remotes.append(RemoteRef(key, prop, store_name, "get"))
        elif "extract" in item:
            ref = _dict(item.get("extract"))
            key = _text(ref.get("key"), fix)
            if key is not None:
                prop = _text(ref.get("property"), fix)
                remotes.append(RemoteRef(key, prop, store_name, "extract"))
        elif "find" in item:
            find = _dict(item.get("find"))
            pattern = _text(find.get("path"), fix) or _text(
                _dict(find.get("name")).get("regexp"), fix
            )
            remotes.append(RemoteRef(pattern or "*", None, store_name, "find"))
        elif "key" in item:  # v1alpha1: dataFrom items were remote refs themselves
            key = _text(item.get("key"), fix)
            if key is not None:
                remotes.append(RemoteRef(key, None, store_name, "extract"))
    if default_store is not None and not items:
        stores[default_store] = None
    target = _dict(spec.get("target"))
    r.store_refs = tuple(stores)
    r.remote_refs = tuple(remotes)
    r.generator_refs = tuple(generators)
    r.target_name = _text(target.get("name"), fix) or default_target
    r.creation_policy = _text(target.get("creationPolicy"), fix) or "Owner"


def _push_spec(r: Resource, spec: dict[str, Any], fix: Fix) -> None:
    """PushSecret spec, shared with ClusterPushSecret's ``pushSecretSpec``."""
    stores: dict[StoreRef, None] = {}
    for raw in _list(spec.get("secretStoreRefs")):
        store = _store_ref(raw, fix)
        if store is not None:
            stores[store] = None
    selector = _dict(spec.get("selector"))
    generator = _generator(selector.get("generatorRef"), fix)
    remotes = []
    for raw in _list(spec.get("data")):
        match = _dict(_dict(raw).get("match"))
        ref = _dict(match.get("remoteRef"))
        key = _text(ref.get("remoteKey"), fix)
        if key is not None:
            remotes.append(RemoteRef(key, _text(ref.get("property"), fix), None, "push"))
    r.store_refs = tuple(stores)
    r.remote_refs = tuple(remotes)
    r.generator_refs = (generator,) if generator else ()
    r.source_secret = _text(_dict(selector.get("secret")).get("name"), fix)


def external_secret(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    _es_spec(r, _dict(data.get("spec")), r.name, fix)


def cluster_external_secret(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    spec = _dict(data.get("spec"))
    es_name = _text(spec.get("externalSecretName"), fix) or r.name
    _es_spec(r, _dict(spec.get("externalSecretSpec")), es_name, fix)
    namespaces = [_text(n, fix) for n in _list(spec.get("namespaces"))]
    r.target_namespaces = tuple(n for n in namespaces if n)


def push_secret(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    _push_spec(r, _dict(data.get("spec")), fix)


def cluster_push_secret(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    _push_spec(r, _dict(_dict(data.get("spec")).get("pushSecretSpec")), fix)


def secret(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    literal: list[str] = []
    templated: list[str] = []
    for section in ("data", "stringData"):
        for key, value in _dict(data.get(section)).items():
            if value is None or value == "":
                continue
            name = fix(str(key))
            if isinstance(value, str) and (is_templated(value) or "__vltpl" in value):
                templated.append(name)
            else:
                literal.append(name)
    r.secret_type = _text(data.get("type"), fix) or "Opaque"
    r.literal_keys = tuple(literal)
    r.templated_keys = tuple(templated)


def sealed_secret(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    spec = _dict(data.get("spec"))
    r.sealed_keys = tuple(fix(str(k)) for k in _dict(spec.get("encryptedData")))
    template = _dict(spec.get("template"))
    r.target_name = _text(_dict(template.get("metadata")).get("name"), fix) or r.name
    r.secret_type = _text(template.get("type"), fix)
    annotations = _dict(_dict(data.get("metadata")).get("annotations"))
    r.scope = "strict"
    for annotation, scope in _SEALED_SCOPE_ANNOTATIONS:
        if str(annotations.get(annotation, "")).lower() == "true":
            r.scope = scope


def secret_store(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    provider = _dict(_dict(data.get("spec")).get("provider"))
    if not provider:
        return
    name = next(iter(provider))
    conf = _dict(provider[name])
    r.provider = str(name)
    detail: str | None = None
    if name == "vault":
        mount = _text(conf.get("path"), fix)
        version = _text(conf.get("version"), fix) or "v2"
        detail = f"mount={mount} kv={version}" if mount else f"kv={version}"
    elif name == "aws":
        detail = _text(conf.get("service"), fix)
    elif name == "azurekv":
        detail = _text(conf.get("vaultUrl"), fix)
    elif name == "gcpsm":
        detail = _text(conf.get("projectID"), fix)
    r.provider_detail = detail


def cnpg_cluster(r: Resource, data: dict[str, Any], fix: Fix) -> None:
    spec = _dict(data.get("spec"))
    initdb = _dict(_dict(spec.get("bootstrap")).get("initdb"))
    app_secret = _text(_dict(initdb.get("secret")).get("name"), fix)
    superuser_secret = _text(_dict(spec.get("superuserSecret")).get("name"), fix)
    owned = []
    # CNPG generates <name>-app and <name>-superuser unless the user supplies its own secret.
    if r.name and not app_secret:
        owned.append(f"{r.name}-app")
    if r.name and not superuser_secret:
        owned.append(f"{r.name}-superuser")
    credentials = [s for s in (app_secret, superuser_secret) if s]
    for role in _list(_dict(spec.get("managed")).get("roles")):
        name = _text(_dict(_dict(role).get("passwordSecret")).get("name"), fix)
        if name:
            credentials.append(name)
    r.owned_secrets = tuple(owned)
    r.credential_secrets = tuple(credentials)


Extractor = Callable[[Resource, dict[str, Any], Fix], None]

EXTRACTORS: dict[str, Extractor] = {
    "Secret": secret,
    "ExternalSecret": external_secret,
    "ClusterExternalSecret": cluster_external_secret,
    "PushSecret": push_secret,
    "ClusterPushSecret": cluster_push_secret,
    "SecretStore": secret_store,
    "ClusterSecretStore": secret_store,
    "SealedSecret": sealed_secret,
    "Cluster": cnpg_cluster,
}


def is_inventoried(kind: str | None, api_version: str | None) -> bool:
    """Whether a kind belongs in the inventory (``Cluster`` only from CloudNativePG)."""
    if kind not in EXTRACTORS:
        return False
    if kind == "Cluster":
        return api_version is not None and (
            api_version.startswith(CNPG_GROUPS) or is_templated(api_version)
        )
    return True


def extract(doc: Document) -> list[Resource]:
    """Resources in one parsed document (none for unrelated kinds or non-mappings)."""
    data = doc.data
    if not isinstance(data, dict):
        return []
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
        lines = doc.item_lines("items")
        out: list[Resource] = []
        for i, item in enumerate(data["items"]):
            line = lines[i] if i < len(lines) else doc.line
            resource = _one(doc, item, line)
            if resource is not None:
                out.append(resource)
        return out
    if "secretGenerator" in data and kind in (None, "Kustomization"):
        return kustomize_generators(doc, data)
    resource = _one(doc, data, doc.line)
    return [resource] if resource is not None else []


def _one(doc: Document, data: Any, line: int) -> Resource | None:
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    api_version = data.get("apiVersion")
    fix = doc.restore
    if not isinstance(kind, str):
        return None
    api = _text(api_version, fix)
    if not is_inventoried(kind, api):
        return None
    meta = _dict(data.get("metadata"))
    r = Resource(
        file=doc.file,
        line=line,
        kind=kind,
        api_version=api,
        name=_text(meta.get("name"), fix),
        namespace=_text(meta.get("namespace"), fix),
        templated=doc.templated,
        helm_generated=bool(doc.helm_generators),
    )
    EXTRACTORS[kind](r, data, fix)
    return r


def kustomize_generators(doc: Document, data: dict[str, Any]) -> list[Resource]:
    """One record per kustomize ``secretGenerator`` entry (literal key names, files, envs)."""
    fix = doc.restore
    namespace = _text(data.get("namespace"), fix)
    api = _text(data.get("apiVersion"), fix) or "kustomize.config.k8s.io/v1beta1"
    lines = doc.item_lines("secretGenerator")
    out = []
    for i, raw in enumerate(_list(data.get("secretGenerator"))):
        gen = _dict(raw)
        literal = [str(x).split("=", 1)[0] for x in _list(gen.get("literals"))]
        files = [str(x) for x in _list(gen.get("files")) + _list(gen.get("envs"))]
        out.append(
            Resource(
                file=doc.file,
                line=lines[i] if i < len(lines) else doc.line,
                kind="SecretGenerator",
                api_version=api,
                name=_text(gen.get("name"), fix),
                namespace=_text(gen.get("namespace"), fix) or namespace,
                templated=doc.templated,
                secret_type=_text(gen.get("type"), fix) or "Opaque",
                literal_keys=tuple(fix(k) for k in literal),
                source_files=tuple(fix(f) for f in files),
            )
        )
    return out


def from_unparsed(doc: Document) -> Resource | None:
    """A best-effort record for a document that did not parse, if its kind is one of ours."""
    recovered = doc.recovered or {}
    kind = recovered.get("kind")
    if not is_inventoried(kind, recovered.get("apiVersion")):
        return None
    return Resource(
        file=doc.file,
        line=doc.line,
        kind=kind,
        api_version=recovered.get("apiVersion"),
        name=recovered.get("name"),
        namespace=recovered.get("namespace"),
        parse_error=doc.parse_error,
        templated=doc.templated,
        helm_generated=bool(doc.helm_generators),
    )
