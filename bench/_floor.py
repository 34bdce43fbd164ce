"""The floor of `vaultline resolve --format dotenv --reveal`, or of `vaultline run -- CMD`,
as a process of its own: start the interpreter, import only sqlite3, hashlib, hmac, json and
cryptography's AESGCM, read every row of the store (unwrap its data key, decrypt its value),
write one keyed, chained audit line per value (HMAC-SHA256 of the value, HMAC-SHA256 chain,
one O_APPEND write), then print dotenv (resolve) or run CMD with the values in its
environment and wait for it (run). The run floor also imports what `run` cannot start
without, though it does not use them: click, the CLI's parser, and hyperscan, the masker's
engine (vaultline compiles the masker in a thread while the child runs; a child that prints
nothing never waits for it).

The keys come derived in the environment (derivation is microseconds; vaultline derives them
from the master key). No parsing of vaultline.yaml or of the pack, no policy, no overrides,
no masking: what vaultline cannot do without, done as directly as the standard library allows.

    python bench/_floor.py STORE_DB AUDIT_LOG [-- CMD [ARGS...]]  (FLOOR_KEYS=kek:value:chain)
"""

import hashlib
import hmac
import json
import os
import sqlite3
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def main() -> None:
    db_path, log_path, *command = sys.argv[1:]
    command = command[1:] if command[:1] == ["--"] else command
    action = "read" if command else "reveal"  # vaultline's action for a value read or shown
    if command:
        import subprocess

        import click  # noqa: F401 - imported by `run` before it reads anything
        import hyperscan  # noqa: F401
    kek_hex, value_hex, chain_hex = os.environ["FLOOR_KEYS"].split(":")
    kek = AESGCM(bytes.fromhex(kek_hex))
    value_mac = hmac.new(bytes.fromhex(value_hex), digestmod=hashlib.sha256)
    chain_mac = hmac.new(bytes.fromhex(chain_hex), digestmod=hashlib.sha256)
    quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
    db = sqlite3.connect(db_path)
    lines: list[bytes] = []
    values: dict[str, str] = {}
    prev = "0" * 64
    rows = db.execute("SELECT path, version, wrapped_key, ciphertext FROM versions")
    for seq, (path, version, wrapped, sealed) in enumerate(rows, start=1):
        aad = b"vaultline-store-v1|%s|%d" % (path.encode(), version)
        key = kek.decrypt(wrapped[:12], wrapped[12:], aad)
        value = AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)
        mac = value_mac.copy()
        mac.update(value)
        key_name = path.split("/", 2)[2].replace("/", ":")
        body = (f'{{"v":2,"seq":{seq},"time":"2026-01-01T00:00:00.000000Z","actor":"bench",'
                f'"action":"{action}","env":"prod","key":{quote(key_name)},'
                f'"reference":{quote("local:" + path)},"outcome":"ok",'
                f'"value_hmac":"{mac.hexdigest()}","detail":null,"prev":"{prev}"').encode()
        chained = chain_mac.copy()
        chained.update(body + b"}")
        prev = chained.hexdigest()
        lines.append(b'%s,"hash":"%s"}\n' % (body, prev.encode()))
        values[key_name.replace(":", "__").upper()] = value.decode()
    db.close()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"".join(lines))
    finally:
        os.close(fd)
    if not command:
        sys.stdout.write("".join(f"{name}='{text}'\n" for name, text in values.items()))
        return
    sys.exit(subprocess.run(command, env={**os.environ, **values}).returncode)


if __name__ == "__main__":
    main()
