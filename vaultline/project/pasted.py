"""Text from secrets.yaml that looks like a pasted secret value rather than a reference.

secrets.yaml is committed and holds references (``local``, ``vault:db#password``); a value
pasted there by mistake must not be quoted back in an error message, where CI logs would
keep it. The scanner's detectors decide first (``ghp_…``, ``sk_live_…``, URLs with a
password); then entropy: a provider name is a short word, not a long random token. Neither
tells ``hunter2`` from ``hashicorp``, so a bad reference that is not shaped ``PROVIDER:...``
is never quoted at all (:func:`not_quoted`).
"""

from __future__ import annotations

import re

# A reference's first segment is a provider name: a word, perhaps with dashes.
_TOKEN = re.compile(r"[^:#@/\s]+")
MIN_TOKEN_CHARS = 16
MIN_ENTROPY = 3.0  # bits per character; provider names of 16+ letters score below


def looks_like_value(text: str) -> bool:
    from vaultline.scan.engine import Scanner
    from vaultline.scan.filters import shannon_entropy

    text = text.strip()
    if Scanner().scan(text.encode("utf-8", "replace") + b"\n", "secrets.yaml"):
        return True
    head = _TOKEN.match(text)
    token = head.group(0) if head else ""
    # Random tokens mix digits into letters throughout; names have a digit or two at most.
    digits = sum(c.isdigit() for c in token)
    return (len(token) >= MIN_TOKEN_CHARS and digits >= 3
            and shannon_entropy(token) >= MIN_ENTROPY)


def not_a_reference(key: str, env: str) -> str:
    """The message for a pasted value: what to do, without quoting it."""
    return (f"{key!r}: this looks like a value, not a reference (not shown); secrets.yaml holds "
            f"references like 'local' or 'vault:db#password': store the value with "
            f"'vaultline secret put {key} --env {env}', reference it here, and rotate it: it is in git")


def not_quoted(key: str, text: str, known: set[str]) -> str:
    """The message for a bad reference whose text is not shown: what is wrong with it, and
    the known provider it is closest to, if any (a name of ours, never the text)."""
    import difflib

    from vaultline.project.reference import Reference, parse_or_problem

    parsed = parse_or_problem(text)
    if isinstance(parsed, Reference):
        close = difflib.get_close_matches(parsed.provider, sorted(known), n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (f"{key!r}: unknown provider{hint}, the text is not shown in case it is a "
                f"pasted value; configure the provider under 'providers' in vaultline.yaml or "
                f"use one of {', '.join(sorted(known))}")
    return (f"{key!r}: not a reference, the text is not shown in case it is a pasted value "
            f"({parsed}); secrets.yaml holds references like 'local' or 'vault:db#password'")
