"""Resolving 10,000 secrets from the embedded store through the public API,
against the floor of this design — the same rows read with sqlite3 and decrypted with
cryptography's AESGCM directly (unwrap the data key, decrypt the value). Target ratio <= 2.0.

    .venv/bin/python bench/local_resolve.py [--secrets 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import interleaved, load_average, master_key, write

quote = json.encoder.encode_basestring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    import vaultline
    from vaultline.store import EmbeddedStore, _sealing

    os.environ["VAULTLINE_MASTER_KEY"] = master_key()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lines = "".join(f"Service{i // 100}:Secret{i % 100}: local\n" for i in range(args.secrets))
        write(root, {"vaultline.yaml": "app: bench\nenvironments: [prod]\n",
                     "env/prod/secrets.yaml": lines})
        store, _ = EmbeddedStore.create(root / ".vaultline")
        for i in range(args.secrets):
            store.put(f"bench/prod/Service{i // 100}/Secret{i % 100}",
                      f"value-{i}-{os.urandom(12).hex()}".encode())
        kek = AESGCM(store.derive_key("store-kek"))
        store.close()

        def baseline() -> dict[str, bytes]:
            db = sqlite3.connect(root / ".vaultline" / "store.db")
            out = {}
            for path, version, wrapped, ciphertext in db.execute(
                    "SELECT path, version, wrapped_key, ciphertext FROM versions"):
                aad = _sealing.associated_data(path, version)
                data_key = kek.decrypt(wrapped[:12], wrapped[12:], aad)
                out[path] = AESGCM(data_key).decrypt(ciphertext[:12], ciphertext[12:], aad)
            db.close()
            return out

        def audit_floor(values: dict[str, bytes]) -> bytes:
            # What the audit asks of every read, done as directly as the standard library
            # allows: an HMAC-SHA256 of the value, one JSON line, SHA-256 chained. No I/O.
            keyed = hmac.new(b"k" * 32, digestmod=hashlib.sha256)
            prev, lines = "0" * 64, []
            for seq, (path, value) in enumerate(values.items(), 1):
                mac = keyed.copy()
                mac.update(value)
                body = (f'{{"v":1,"seq":{seq},"time":"2026-01-01T00:00:00.000000Z",'
                        f'"actor":"me@host","action":"read","env":"prod","key":{quote(path)},'
                        f'"reference":{quote("local:" + path)},"outcome":"ok",'
                        f'"value_hmac":"{mac.hexdigest()}","detail":null,"prev":"{prev}"}}'
                        ).encode()
                prev = hashlib.sha256(body).hexdigest()
                lines.append(body[:-1] + b',"hash":"' + prev.encode() + b'"}\n')
            return b"".join(lines)

        def public_api() -> object:
            return vaultline.load("prod", root)

        def without_audit() -> object:
            # The same resolution minus the Session around it: no overrides, no audit lines.
            with vaultline.Resolver(vaultline.Project.load(root), "prod") as resolver:
                return resolver.resolve()

        assert len(baseline()) == args.secrets
        assert len(public_api()) == args.secrets  # type: ignore[arg-type]
        assert len(without_audit()) == args.secrets  # type: ignore[arg-type]
        plain = baseline()
        timed = interleaved({"baseline": baseline, "audit": lambda: audit_floor(plain),
                             "core": without_audit, "ours": public_api}, args.repeat)
        (base_best, base_median), (audit_best, _) = timed["baseline"], timed["audit"]
        (core_best, core_median), (ours_best, ours_median) = timed["core"], timed["ours"]

    print(f"secrets: {args.secrets}   load average before/after: {load_average()}")
    print(f"baseline sqlite3+AESGCM: best {base_best * 1000:8.1f} ms  median {base_median * 1000:8.1f} ms")
    print(f"Resolver.resolve():      best {core_best * 1000:8.1f} ms  median {core_median * 1000:8.1f} ms"
          f"  (packs, references, merge; no audit)   ratio {core_best / base_best:.2f}")
    print(f"vaultline.load():        best {ours_best * 1000:8.1f} ms  median {ours_median * 1000:8.1f} ms"
          "  (the same, plus one hash-chained audit line per secret read)")
    print(f"for scale, the per-read audit alone at stdlib speed (no I/O): {audit_best * 1000:.1f} ms "
          f"= {audit_best / base_best:.2f} of the baseline")
    print(f"ratio vaultline/sqlite3-aesgcm: {ours_best / base_best:.2f}")


if __name__ == "__main__":
    main()
