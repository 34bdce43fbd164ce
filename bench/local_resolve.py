"""Resolving 10,000 secrets from the embedded store through the public API, against the
floor of this design done as directly as the standard library allows, in the same run:

* the reads: the same rows read with sqlite3 and opened with cryptography's AESGCM (unwrap
  the data key, decrypt the value), one row per secret;
* the audit of those reads: an HMAC-SHA256 of each value, one JSON line per read with the
  same fields and text vaultline writes, chained by HMAC-SHA256 under a chain key (each
  line's ``hash`` covers the line before it), every line appended with one ``write`` to a
  0600 ``O_APPEND`` file, and the chain's tip saved in the store's meta table. Neither side
  calls fsync (vaultline's audit does not; both SQLite connections run ``synchronous=NORMAL``).

Target: ratio <= 1.5.

    .venv/bin/python bench/local_resolve.py [--secrets 10000] [--repeat 9]
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
    from vaultline.audit import default_actor
    from vaultline.audit.event import format_time
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
        value_key, chain_key = store.derive_key("audit-hmac"), store.derive_key("audit-chain")
        store.close()
        db_path, floor_log = root / ".vaultline" / "store.db", root / "floor-audit.log"
        actor = quote(default_actor())
        prefix = len("bench/prod/")

        def reads() -> dict[str, bytes]:
            db = sqlite3.connect(db_path)
            out = {}
            for path, version, wrapped, ciphertext in db.execute(
                    "SELECT path, version, wrapped_key, ciphertext FROM versions"):
                aad = _sealing.associated_data(path, version)
                data_key = kek.decrypt(wrapped[:12], wrapped[12:], aad)
                out[path] = AESGCM(data_key).decrypt(ciphertext[:12], ciphertext[12:], aad)
            db.close()
            return out

        tip = ["0" * 64, 0]

        def audit(values: dict[str, bytes]) -> None:
            value_mac = hmac.new(value_key, digestmod=hashlib.sha256)
            chain_mac = hmac.new(chain_key, digestmod=hashlib.sha256)
            prev, seq = tip
            time = quote(format_time(vaultline.audit.log.datetime.now(vaultline.audit.log.UTC)))
            out = []
            for path, value in values.items():
                seq += 1
                mac = value_mac.copy()
                mac.update(value)
                body = (f'{{"v":2,"seq":{seq},"time":{time},"actor":{actor},"action":"read",'
                        f'"env":"prod","key":{quote(path[prefix:].replace("/", ":"))},'
                        f'"reference":{quote("local:" + path)},"outcome":"ok",'
                        f'"value_hmac":"{mac.hexdigest()}","detail":null,"prev":"{prev}"'
                        ).encode()
                chained = chain_mac.copy()
                chained.update(body + b"}")
                prev = chained.hexdigest()
                out.append(b'%s,"hash":"%s"}\n' % (body, prev.encode()))
            fd = os.open(floor_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b"".join(out))
            finally:
                os.close(fd)
            db = sqlite3.connect(db_path, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('floor_tip', ?)",
                       (f"{seq} {prev}",))
            db.close()
            tip[:] = prev, seq

        def floor() -> None:
            audit(reads())

        def public_api() -> object:
            return vaultline.load("prod", root)

        def without_audit() -> object:
            # The same resolution minus the Session around it: no overrides, no audit lines.
            with vaultline.Resolver(vaultline.Project.load(root), "prod") as resolver:
                return resolver.resolve()

        assert len(reads()) == args.secrets
        assert len(public_api()) == args.secrets  # type: ignore[arg-type]
        assert len(without_audit()) == args.secrets  # type: ignore[arg-type]
        floor()
        ours_log = (root / ".vaultline" / "audit.log").read_bytes().splitlines()
        floor_lines = floor_log.read_bytes().splitlines()
        # Same work: one line per read on both sides, of about the same length.
        assert len(ours_log) == len(floor_lines) == args.secrets, (len(ours_log), len(floor_lines))
        plain = reads()
        timed = interleaved({"reads": reads, "audit": lambda: audit(plain), "floor": floor,
                             "core": without_audit, "ours": public_api}, args.repeat)
        (reads_best, _), (audit_best, _) = timed["reads"], timed["audit"]
        (floor_best, floor_median) = timed["floor"]
        (core_best, core_median), (ours_best, ours_median) = timed["core"], timed["ours"]
        line_bytes = sum(map(len, ours_log)) // len(ours_log), sum(map(len, floor_lines)) // len(floor_lines)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:7.1f} ms"

    print(f"secrets: {args.secrets}   load average before/after: {load_average()}   "
          f"audit line bytes vaultline/floor: {line_bytes[0]}/{line_bytes[1]}")
    print(f"floor: sqlite3+AESGCM reads          best {ms(reads_best)}")
    print(f"floor: keyed audit lines, one write  best {ms(audit_best)}")
    print(f"floor: reads + audit                 best {ms(floor_best)}  median {ms(floor_median)}")
    print(f"Resolver.resolve() (no audit)        best {ms(core_best)}  median {ms(core_median)}"
          f"  ratio to the reads {core_best / reads_best:.2f}")
    print(f"vaultline.load()                     best {ms(ours_best)}  median {ms(ours_median)}")
    print(f"ratio vaultline/floor-with-audit: {ours_best / floor_best:.2f}")


if __name__ == "__main__":
    main()
