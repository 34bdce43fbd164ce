"""Resolving 10,000 secrets from the embedded store through the public API, against the
floor of this design done as directly as the standard library allows, in the same run:

* the reads: the same rows read with sqlite3 and opened with cryptography's AESGCM (unwrap
  the data key, decrypt the value), one row per secret;
* the audit of those reads: an HMAC-SHA256 of each value, one JSON line per read with the
  same fields and text vaultline writes, chained by HMAC-SHA256 under a chain key (each
  line's ``hash`` covers the line before it), every line appended with one ``write`` to a
  0600 ``O_APPEND`` file, and the chain's tip saved in the store's meta table. Neither side
  calls fsync (vaultline's audit does not; both SQLite connections run ``synchronous=NORMAL``).

Target: ratio <= 1.5 (wall clock, best of the interleaved runs). ``--instructions`` also
counts each side's instructions with callgrind in a process of its own (each the first call
in its process; the parse cache is warm), which machine noise does not move.

    .venv/bin/python bench/local_resolve.py [--secrets 10000] [--repeat 9] [--instructions]
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
from _util import instructions, interleaved, load_average, master_key, write

quote = json.encoder.encode_basestring


class Floor:
    """The floor's two halves over one project's store, keys derived as vaultline derives them."""

    def __init__(self, root: Path) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from vaultline.audit import default_actor
        from vaultline.store import EmbeddedStore

        with EmbeddedStore.open(root / ".vaultline") as store:
            self.kek = AESGCM(store.derive_key("store-kek"))
            self.value_key = store.derive_key("audit-hmac")
            self.chain_key = store.derive_key("audit-chain")
        self.db_path, self.log = root / ".vaultline" / "store.db", root / "floor-audit.log"
        self.actor = quote(default_actor())
        self.tip = ("0" * 64, 0)

    def reads(self) -> dict[str, bytes]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from vaultline.store import _sealing

        db = sqlite3.connect(self.db_path)
        out = {}
        for path, version, wrapped, ciphertext in db.execute(
                "SELECT path, version, wrapped_key, ciphertext FROM versions"):
            aad = _sealing.associated_data(path, version)
            data_key = self.kek.decrypt(wrapped[:12], wrapped[12:], aad)
            out[path] = AESGCM(data_key).decrypt(ciphertext[:12], ciphertext[12:], aad)
        db.close()
        return out

    def audit(self, values: dict[str, bytes]) -> None:
        from vaultline.audit.event import format_time
        from vaultline.audit.log import UTC, datetime

        value_mac = hmac.new(self.value_key, digestmod=hashlib.sha256)
        chain_mac = hmac.new(self.chain_key, digestmod=hashlib.sha256)
        prev, seq = self.tip
        time, actor, prefix = quote(format_time(datetime.now(UTC))), self.actor, len(PREFIX)
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
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"".join(out))
        finally:
            os.close(fd)
        db = sqlite3.connect(self.db_path, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('floor_tip', ?)",
                   (f"{seq} {prev}",))
        db.close()
        self.tip = prev, seq

    def run(self) -> None:
        self.audit(self.reads())


PREFIX = "bench/prod/"


def make_project(root: Path, secrets: int) -> None:
    from vaultline.store import EmbeddedStore

    lines = "".join(f"Service{i // 100}:Secret{i % 100}: local\n" for i in range(secrets))
    write(root, {"vaultline.yaml": "app: bench\nenvironments: [prod]\n",
                 "env/prod/secrets.yaml": lines})
    store, _ = EmbeddedStore.create(root / ".vaultline")
    for i in range(secrets):
        store.put(f"{PREFIX}Service{i // 100}/Secret{i % 100}",
                  f"value-{i}-{os.urandom(12).hex()}".encode())
    store.close()


def child(mode: str, root: Path) -> None:
    """One measured side in a process of its own, for ``--instructions``: every mode imports
    the same modules first, so ``imports`` is the baseline both others are measured above."""
    import cryptography.hazmat.primitives.ciphers.aead  # noqa: F401 - the baseline's imports

    import vaultline.audit.log
    import vaultline.resolve.api
    import vaultline.resolve.session
    import vaultline.store._sealing

    floor = Floor(root) if mode == "floor" else None  # key derivation: vaultline.load does it too
    if floor is not None:
        floor.run()
    elif mode == "ours":
        vaultline.resolve.api.load("prod", root)


def count_instructions(mode: str, root: Path) -> int:
    """Instructions ``child(mode)`` executes (``_util.instructions``)."""
    return instructions([sys.executable, __file__, "--child", mode, str(root)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with callgrind (slow; free of noise)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    import vaultline

    os.environ["VAULTLINE_MASTER_KEY"] = master_key()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, args.secrets)
        floor = Floor(root)

        def public_api() -> object:
            return vaultline.load("prod", root)

        def without_audit() -> object:
            # The same resolution minus the Session around it: no overrides, no audit lines.
            with vaultline.Resolver(vaultline.Project.load(root), "prod") as resolver:
                return resolver.resolve()

        assert len(floor.reads()) == args.secrets
        assert len(public_api()) == args.secrets  # type: ignore[arg-type]
        assert len(without_audit()) == args.secrets  # type: ignore[arg-type]
        floor.run()
        ours_log = (root / ".vaultline" / "audit.log").read_bytes().splitlines()
        floor_lines = floor.log.read_bytes().splitlines()
        # Same work: one line per read on both sides, of about the same length.
        assert len(ours_log) == len(floor_lines) == args.secrets, (len(ours_log), len(floor_lines))
        plain = floor.reads()
        timed = interleaved({"reads": floor.reads, "audit": lambda: floor.audit(plain),
                             "floor": floor.run, "core": without_audit, "ours": public_api},
                            args.repeat)
        (reads_best, _), (audit_best, _) = timed["reads"], timed["audit"]
        (floor_best, floor_median) = timed["floor"]
        (core_best, core_median), (ours_best, ours_median) = timed["core"], timed["ours"]
        line_bytes = sum(map(len, ours_log)) // len(ours_log), sum(map(len, floor_lines)) // len(floor_lines)
        counted = ({mode: count_instructions(mode, root) for mode in ("imports", "floor", "ours")}
                   if args.instructions else None)

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
    if counted is not None:
        floor_ir, ours_ir = (counted[m] - counted["imports"] for m in ("floor", "ours"))
        print(f"instructions above the imports (callgrind, first call in a process each): floor "
              f"{floor_ir / 1e6:.0f} M, vaultline.load {ours_ir / 1e6:.0f} M, "
              f"ratio {ours_ir / floor_ir:.2f}")
    print(f"ratio vaultline/floor-with-audit: {ours_best / floor_best:.2f}")


if __name__ == "__main__":
    main()
