"""Secret scanning: find committed secrets in trees, the git index and git history.

    detectors/   one module per provider family + the generic keyword/entropy detector
    prefilter    Hyperscan (or ``re``) keyword pass that decides where regexes run
    engine       one blob of bytes -> findings (regexes near hits, filters, allow comments)
    filters      plain functions that drop false positives
    ignore/walk  which files a tree scan reads
    git          staged and history blobs, streamed through ``git cat-file --batch``
    runner       chunks over a process pool; tree / staged / history entry points
    baseline     known fingerprints, versioned file
    hygiene      tracked .env files and .gitignore coverage
    sarif        SARIF 2.1.0 output
"""

from __future__ import annotations

from vaultline.scan.engine import Scanner
from vaultline.scan.finding import Finding, fingerprint
from vaultline.scan.runner import ScanResult, scan_history, scan_paths, scan_staged

__all__ = [
    "Finding",
    "ScanResult",
    "Scanner",
    "fingerprint",
    "scan_history",
    "scan_paths",
    "scan_staged",
]
