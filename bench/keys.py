"""Key management figures, ratios printed last:

1. envelope encryption of 1 MiB payloads through a key ring (``KeyRing.encrypt``: data key,
   wrap, header) against raw ``AESGCM.encrypt`` of the same data: throughput ratio, >= 0.8;
2. JWT EdDSA sign+verify through a key ring against PyJWT called directly with the same key:
   ratio, >= 0.7;
3. rewrap of 10,000 blobs (64 KiB payloads) after a rotation against full decrypt +
   re-encrypt of the same blobs through the ring: speed-up, >= 10x.

All on the ``local`` backend (the others are bound by their server's round trips).

    .venv/bin/python bench/keys.py [--repeat 5] [--blobs 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import best_of, load_average, master_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blobs", type=int, default=10_000)
    parser.add_argument("--payloads", type=int, default=200, help="1 MiB payloads per run")
    parser.add_argument("--tokens", type=int, default=2_000, help="JWTs per run")
    args = parser.parse_args()

    import jwt as pyjwt
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from vaultline.keys import KeyManager
    from vaultline.store import EmbeddedStore

    environ = {"VAULTLINE_MASTER_KEY": master_key()}
    print(f"load average before: {load_average()}   cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = EmbeddedStore.create(Path(tmp) / ".vaultline", environ=environ)
        keys = KeyManager(store)

        # -- 1. envelope encryption of 1 MiB payloads -------------------------------------
        ring = keys.create("payloads", purpose="encryption")
        payload = os.urandom(1 << 20)
        raw = AESGCM(AESGCM.generate_key(bit_length=256))
        nonce = os.urandom(12)
        n = args.payloads

        def raw_encrypt() -> None:
            for _ in range(n):
                raw.encrypt(nonce, payload, None)

        def ring_encrypt() -> None:
            for _ in range(n):
                ring.encrypt(payload)

        raw_best, raw_med = best_of(raw_encrypt, args.repeat)
        env_best, env_med = best_of(ring_encrypt, args.repeat)
        mib_s = n / env_best
        print(f"[1] {n} x 1 MiB  raw AESGCM.encrypt: best {raw_best * 1000:8.1f} ms  median "
              f"{raw_med * 1000:8.1f} ms")
        print(f"    KeyRing.encrypt:                best {env_best * 1000:8.1f} ms  median "
              f"{env_med * 1000:8.1f} ms  ({mib_s:.0f} MiB/s)")

        # -- 2. JWT EdDSA sign + verify ------------------------------------------------
        signer = keys.create("tokens", purpose="signing", alg="EdDSA")
        primary = signer.primary
        private = keys.backend("local").signing_key(signer.record, primary)
        public = private.public_key()
        claims = {"sub": "svc-a", "aud": "api", "iat": 1767225600, "exp": 4102444800}
        t = args.tokens

        def pyjwt_direct() -> None:
            for _ in range(t):
                token = pyjwt.encode(claims, private, algorithm="EdDSA",
                                     headers={"kid": primary.kid})
                pyjwt.decode(token, public, algorithms=["EdDSA"], audience="api")

        def through_ring() -> None:
            for _ in range(t):
                signer.verify_jwt(signer.sign_jwt(claims), audience="api")

        jwt_best, jwt_med = best_of(pyjwt_direct, args.repeat)
        ring_best, ring_med = best_of(through_ring, args.repeat)
        print(f"[2] {t} EdDSA sign+verify  PyJWT direct: best {jwt_best * 1000:8.1f} ms  median "
              f"{jwt_med * 1000:8.1f} ms")
        print(f"    KeyRing.sign_jwt+verify_jwt:       best {ring_best * 1000:8.1f} ms  median "
              f"{ring_med * 1000:8.1f} ms")

        # -- 3. rewrap vs decrypt + re-encrypt ----------------------------------------
        wrap_ring = keys.create("archive", purpose="encryption")
        body = os.urandom(64 * 1024)
        blobs = [wrap_ring.encrypt(body) for _ in range(args.blobs)]
        wrap_ring.rotate()
        # Like a rewrap job over a table: each result replaces the previous run's result, so
        # both sides reuse freed buffers instead of faulting in fresh pages for every blob.
        out: list[object] = [None] * len(blobs)
        batch = 100

        def full() -> None:
            for i, blob in enumerate(blobs):
                out[i] = wrap_ring.encrypt(wrap_ring.decrypt(blob))

        def rewrap() -> None:
            for i in range(0, len(blobs), batch):
                out[i:i + batch] = wrap_ring.rewrap_many(blobs[i:i + batch])

        check = wrap_ring.rewrap(blobs[0])
        assert wrap_ring.decrypt(check) == body
        full_best, full_med = best_of(full, args.repeat)
        rewrap_best, rewrap_med = best_of(rewrap, args.repeat)
        out.clear()

        # In place: each blob is a bytearray (what encrypt returns) rewritten where it lies,
        # header bytes only. Fresh copies of the old blobs are made outside the timing.
        times = []
        for _ in range(args.repeat):
            copies = [bytearray(b) for b in blobs]
            start = time.perf_counter()
            for i in range(0, len(copies), batch):
                wrap_ring.rewrap_many(copies[i:i + batch], in_place=True)
            times.append(time.perf_counter() - start)
            assert wrap_ring.decrypt(copies[-1]) == body
            del copies
        inplace_best, inplace_med = min(times), statistics.median(times)
        print(f"[3] {args.blobs} x 64 KiB  decrypt+encrypt: best {full_best * 1000:8.1f} ms  "
              f"median {full_med * 1000:8.1f} ms")
        print(f"    rewrap_many (new blobs):     best {rewrap_best * 1000:8.1f} ms  "
              f"median {rewrap_med * 1000:8.1f} ms")
        print(f"    rewrap_many(in_place=True):  best {inplace_best * 1000:8.1f} ms  "
              f"median {inplace_med * 1000:8.1f} ms")
        store.close()

    print(f"load average after: {load_average()}")
    print("noise (median/best): "
          f"[1] {env_med / env_best:.2f}/{raw_med / raw_best:.2f}  "
          f"[2] {ring_med / ring_best:.2f}/{jwt_med / jwt_best:.2f}  "
          f"[3] {rewrap_med / rewrap_best:.2f}/{inplace_med / inplace_best:.2f}/"
          f"{full_med / full_best:.2f}")
    print(f"ratio envelope/raw AESGCM throughput (target >= 0.8): {raw_best / env_best:.2f}")
    print(f"ratio ring/PyJWT EdDSA sign+verify (target >= 0.7): {jwt_best / ring_best:.2f}")
    print(f"speed-up rewrap (new blobs) vs decrypt+re-encrypt: {full_best / rewrap_best:.1f}x")
    print(f"speed-up rewrap in place vs decrypt+re-encrypt (target >= 10): "
          f"{full_best / inplace_best:.1f}x")


if __name__ == "__main__":
    main()
