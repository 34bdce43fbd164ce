"""Filters that drop false positives, each a plain function of one :class:`Candidate`.

A filter returns True when the candidate is *not* a secret. They run in order, cheapest
first, after a detector's regex matched and before a finding is made; ``DEFAULT_FILTERS``
is the list the engine uses. Markers that keep a finding but label it (test fixtures) are
in :func:`tags_for_path`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from vaultline.scan.detectors import Detector
from vaultline.scan.detectors.generic import name_strength


@dataclass(frozen=True)
class Candidate:
    detector: Detector
    secret: str
    line: str
    path: str
    # The assigned name for keyword rules (``DB_PASSWORD``), else "".
    name: str = ""
    # Whether the value was quoted (generic rule): unquoted values in code are expressions.
    quoted: bool = True


Filter = Callable[[Candidate], bool]


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_low_entropy(c: Candidate) -> bool:
    threshold = c.detector.min_entropy
    if not threshold:
        return False
    # A short string cannot reach log2(len) bits per char; scale the bar for it.
    threshold = min(threshold, math.log2(max(len(c.secret), 2)) - 0.6)
    if c.secret.isdigit():
        # Ten symbols top out at 3.3 bits; random digit strings score 2.4 to 3.1.
        threshold = min(threshold, 2.2)
    return shannon_entropy(c.secret) < threshold


_PLACEHOLDER_WORDS = re.compile(
    r"(?i)(?:change[_-]?me|changeit|placeholder|example|sample|dummy|fake|redacted|"
    r"your[_-]|my[_-]?(?:secret|token|password|key)|replace[_-]?me|insert[_-]|"
    r"todo|fixme|xxxx|\*\*\*|\.\.\.|not[_-]?a[_-]?(?:real|secret)|secret[_-]?here|"
    r"token[_-]?here|password[_-]?here|key[_-]?here|goes[_-]?here|"
    r"^(?:password|secret|token|passw0rd|p@ssw0rd|hunter2|letmein|admin|root|test|"
    r"qwerty|default|none|null|nil|undefined|true|false|empty)\d*$)"
)
# "%VAR%" (Windows) is a template; a password may well start with "%".
_TEMPLATE = re.compile(
    r"^\$|^%[A-Za-z_][\w.]*%|\$\{|\{\{|\}\}|<[^>]*>|^\{[A-Za-z_]|^@[A-Za-z_]+@$|%\(|%s$"
)
# "abcdefgh", "aaaaaaaa", "12345678", "0000...": sequences and repeats.
_REPEATED = re.compile(r"(.)\1{5,}")


def is_placeholder(c: Candidate) -> bool:
    s = c.secret
    if _TEMPLATE.search(s):
        return True
    # Long random bodies (PEM keys) contain any short word or run by chance; only short
    # values are judged by their words.
    if len(s) <= 64 and (_PLACEHOLDER_WORDS.search(s) or _REPEATED.search(s)):
        return True
    lowered = s.lower()
    return lowered in "abcdefghijklmnopqrstuvwxyz0123456789" or len(set(lowered)) <= 3


# Well-known example credentials from providers' documentation.
KNOWN_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AKIAI44QH8DHBEXAMPLE",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "ASIAIOSFODNN7EXAMPLE",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    }
)


# The example UUID of RFC 4122 and every tutorial since ("123e4567-e89b-12d3-a456-…").
_EXAMPLE_UUID = re.compile(r"(?i)^123e4567-e89b-")


def is_known_example(c: Candidate) -> bool:
    s = c.secret
    return s in KNOWN_EXAMPLES or "EXAMPLE" in s or bool(_EXAMPLE_UUID.match(s))


_HEX_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$", re.I)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_HASH_CONTEXT = re.compile(
    r"(?i)sha[-_]?(?:1|256|384|512)|md5|checksum|digest|integrity|hash|commit|etag|"
    r"fingerprint|revision|\brev\b|\bid\b|_id\b|uuid|guid|nonce|salt"
)
_HASH_PREFIX = re.compile(
    r"(?i)^(?:sha(?:1|256|384|512)[-:]|md5:|\$2[aby]\$|\$argon2|\$6\$|scram-sha-256\$|md5[0-9a-f]{32}$)"
)
_ENDS_IN_SECRET_WORD = re.compile(
    r"(?i)(?:token|api[_.-]?key|apikey|secret|key|password|passwd)[\"']?$"
)


def is_hash_or_uuid(c: Candidate) -> bool:
    """A hash or UUID where a key is expected (keyword rules only): an identifier, not a key."""
    if not c.detector.free_form:
        return False  # provider rules define their own shapes; a hex key there is the key
    s = c.secret
    if _HASH_PREFIX.match(s):
        return True
    if _UUID.match(s):
        # Some providers' keys are UUIDs (Heroku, Snyk): behind a name that ends in a secret
        # word and says nothing of ids, the UUID is the key.
        return not (_ENDS_IN_SECRET_WORD.search(c.name) and not _HASH_CONTEXT.search(c.name))
    return bool(_HEX_HASH.match(s) and _HASH_CONTEXT.search(c.name or c.line))


# Values that are code, not literals: calls, env lookups, interpolations.
_CONFIG_EXPRESSION = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_.]*(?:\(|\[|::|->)|!\w|(?:process\.env|os\.environ|getenv|"
    r"ENV\[|System\.getenv|secrets\.|vars\.|env\.))"
)
_NAME_NOT_SECRET = re.compile(
    r"(?i)(?:_|-|\.|\b)(?:file|path|dir|name|id|url|uri|endpoint|env|var|length|len|size|"
    r"type|field|header|prefix|suffix|regex|pattern|hash|format|expir\w*|ttl|count|"
    r"mode|label|help|description|hint|policy|rotation|version|enabled|required|min|max|"
    r"last\w*|used|date|time|created|updated|usage|limit|budget|index|position|kind|status|"
    r"state|source|provider|store|storage|manager|service|validator|generator|counter|stats)s?$"
    # Pagination tokens are opaque but not credentials.
    r"|(?:next|continuation|pagination|page|sync|cursor|marker)[_.-]?token"
    # Public by design: publishable and public keys, CSRF tokens, search-only keys.
    r"|(?:public|publishable|csrf|xsrf|anti[_.-]?forgery|search[_.-]?only|search)[_.-]?"
    r"(?:api[_.-]?)?(?:token|key)"
)
# camelCase meta names: credentialId, tokenType, passwordLength, secretName.
_CAMEL_NOT_SECRET = re.compile(
    r"[a-z](?:Id|Ids|Name|Names|Path|File|Url|Uri|Type|Length|Len|Size|Field|Header|Prefix|"
    r"Format|Pattern|Regex|Expiry|Expires|Expiration|Ttl|Count|Label|Hint|Policy|Version|"
    r"Enabled|Required|Endpoint|Usage|Limit|Limits|Budget|Index|Position|Kind|Status|State|"
    r"Source|Provider|Store|Storage|Manager|Service|Validator|Generator|Counter|Stats)$"
)


# In these languages an unquoted right-hand side is an expression, never a literal secret;
# in config formats (.env, YAML, INI, properties, shell) unquoted values are literals.
_CODE_SUFFIXES = frozenset(
    {
        "py", "pyi", "js", "jsx", "mjs", "cjs", "ts", "tsx", "go", "java", "kt", "kts",
        "scala", "rb", "php", "cs", "fs", "vb", "rs", "swift", "c", "h", "cc", "cpp", "hpp",
        "m", "mm", "dart", "lua", "ex", "exs", "erl", "clj", "groovy", "r", "jl", "vue",
        "svelte",
    }
)


_LOWER_WORDS = re.compile(r"[a-z]+(?:[-_. ][a-z]+)*")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}|$)")


def has_meta_name(c: Candidate) -> bool:
    """The assigned name is about a secret, not one: ``DB_PASSWORD_FILE``, ``tokenType``,
    ``SNYK_ORG_ID``, ``csrf_token``, ``next_page_token``."""
    return bool(c.name) and bool(_NAME_NOT_SECRET.search(c.name) or _CAMEL_NOT_SECRET.search(c.name))


def is_expression(c: Candidate) -> bool:
    """Generic rule: the 'value' is code (``password = get_password()``), not a literal."""
    if not c.detector.free_form:
        return False
    if not c.quoted:
        suffix = c.path.rsplit(".", 1)[-1].lower() if "." in c.path else ""
        if suffix in _CODE_SUFFIXES:
            return True
    # In config formats an unquoted value with dots is a literal (YAML, INI, .env); calls
    # and env lookups are still expressions (bare names are judged by is_identifier_like).
    if not c.quoted and _CONFIG_EXPRESSION.match(c.secret):
        return True
    # Quoted values that are clearly words or paths ("my-app-token", "/run/secrets/db").
    s = c.secret
    if _TIMESTAMP.match(s):
        return True
    if s.startswith(("http://", "https://", "file:")):
        return True
    # Paths read like paths; base64 may start with "/" too, but is far more random.
    if s.startswith(("/", "./", "../", "~/")) and shannon_entropy(s) < 4.2:
        return True
    # Long unbroken lower-case runs are words only when they read like words.
    return bool(_LOWER_WORDS.fullmatch(s)) and (len(s) < 16 or not s.isalpha()
                                                or _looks_like_word(s))


# Values that are safe to commit by design: references to a secret store, and ciphertexts
# (Sealed Secrets, SOPS, Ansible Vault, age armor) that only a cluster or key holder opens.
_REFERENCE = re.compile(
    r"^(?:vault|bao|openbao|local|env|file|aws-?sm|awssm|aws-?ssm|azure-?kv|azkv|gcp-?sm|"
    r"op|ref\+[a-z]+|secretsmanager|keyvault|arn:aws:secretsmanager):[^\s]*"
)
_CIPHERTEXT = re.compile(r"^(?:Ag[A-D][A-Za-z0-9+/=]{60,}|ENC\[[A-Z0-9_]+,|\$ANSIBLE_VAULT)")


def is_reference_or_ciphertext(c: Candidate) -> bool:
    if not c.detector.free_form:
        return False
    return bool(_REFERENCE.match(c.secret) or _CIPHERTEXT.match(c.secret))


_IDENTIFIER_CHARS = re.compile(r"^[A-Za-z0-9_.-]+$")
_WORDISH = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


_VOWELS = frozenset("aeiouyAEIOUY")
_CONSONANT_RUN = re.compile(r"[^aeiouyAEIOUY0-9]{5,}")


def _looks_like_word(w: str) -> bool:
    """Pronounceable: vowels in a word's proportion and no long consonant run."""
    vowels = sum(1 for ch in w if ch in _VOWELS)
    return 0.2 <= vowels / len(w) <= 0.7 and not _CONSONANT_RUN.search(w)


def is_identifier_like(c: Candidate) -> bool:
    """Generic rule: the value is a name made of words (``NextPageToken``, ``AWS_ACCESS_KEY_ID``,
    ``InvalidationList.NextMarker``), as API descriptions and code are full of, not a random
    string (``Xk9mQ2vLp7wR4z`` splits into many one- and two-letter pieces)."""
    if not c.detector.free_form:
        return False
    if not _IDENTIFIER_CHARS.match(c.secret):
        return False  # symbols other than _ . - : a password, not a name
    pieces = _WORDISH.findall(c.secret)
    words = [p for p in pieces if not p.isdigit()]
    # Acronyms (AWS, KMS) need no vowel; other pieces must read like words.
    if not words or not all(_looks_like_word(w) for w in words if len(w) >= 3 and not w.isupper()):
        return False  # "k3mlpqzrtv8wyxn", "SvBtx1Sza": random letters, not words
    short = sum(1 for w in words if len(w) <= 2)
    return short <= 1 and sum(map(len, words)) / len(words) >= 3 and len(pieces) <= 8


def character_classes(s: str) -> int:
    """How many of lower case, upper case, digits and symbols ``s`` uses (0 to 4)."""
    return sum((any(ch.islower() for ch in s), any(ch.isupper() for ch in s),
                any(ch.isdigit() for ch in s), any(not ch.isalnum() for ch in s)))


def lacks_character_variety(c: Candidate) -> bool:
    """Generic rule: a random secret mixes at least two of lower, upper, digit and symbol."""
    if not c.detector.free_form:
        return False
    s = c.secret
    classes = character_classes(s)
    if classes >= 3 or (classes == 2 and len(s) >= 10):
        return False
    if classes == 1 and name_strength(c.name) == "word":
        # Some providers' tokens are all digits or all lower-case letters: long, random
        # ones behind a secret name are kept.
        if s.isdigit():
            return len(s) < 12
        if s.isalpha():
            return len(s) < 20 or sum(1 for ch in s if ch in _VOWELS) / len(s) >= 0.28
    return True


_LOCK_FILES = frozenset(
    {
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock",
        "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock", "uv.lock", "pdm.lock",
        "npm-shrinkwrap.json", "bun.lock", "flake.lock", "packages.lock.json",
    }
)


def is_lock_file(c: Candidate) -> bool:
    """Lock files are full of integrity hashes and registry URLs, never of credentials."""
    return c.path.rsplit("/", 1)[-1] in _LOCK_FILES


_ALNUM_ORDER = {ch: i for i, ch in enumerate("0123456789abcdefghijklmnopqrstuvwxyz")}
_DUMMY_RUN = 6


def has_dummy_run(c: Candidate) -> bool:
    """A run of 6 consecutive characters (``012345``, ``abcdef``, ``654321``) in a token: a
    documentation dummy behind a real prefix (one in ~10^8 random 40-character tokens has one).
    Multi-line key material is long enough to contain one by chance and is not judged."""
    s = c.secret
    if c.detector.multiline or len(s) > 200:
        return False
    up = down = 1
    previous = -2
    for ch in s.lower():
        index = _ALNUM_ORDER.get(ch, -10)
        up = up + 1 if index >= 0 and index == previous + 1 else 1
        down = down + 1 if index >= 0 and index == previous - 1 else 1
        if up >= _DUMMY_RUN or down >= _DUMMY_RUN:
            return True
        previous = index
    return False


# What a provider's tokens look like, for names that say which provider they belong to:
# ``GITHUB_TOKEN = "hunter2hunter2"`` is not a GitHub token, whatever else it is.
_PROVIDER_SHAPES = tuple(
    (re.compile(name, re.I), re.compile(shape))
    for name, shape in (
        (r"github|\bgh[_.-]", r"^(?:gh[pousr]_|github_pat_|v1\.[0-9a-f]{40}$|[0-9a-f]{40}$)"),
        (r"gitlab", r"^(?:gl[a-z]+-|GR1348941)"),
        (r"slack", r"^(?:xox[a-z]-|xapp-|https://hooks\.slack\.com/)"),
        (r"stripe", r"^(?:[sr]k_|whsec_)"),
        (r"openai", r"^sk-"),
        (r"anthropic|claude", r"^sk-ant-"),
        (r"\bnpm|npm[_.-]", r"^(?:npm_|[0-9a-f-]{36}$)"),
        (r"sendgrid", r"^SG\."),
        (r"hugging[_.-]?face|\bhf[_.-]", r"^hf_"),
        (r"pypi", r"^pypi-"),
        (r"shopify", r"^shp"),
        (r"digital[_.-]?ocean", r"^do[opr]_v1_"),
    )
)
_TOKEN_NAME = re.compile(r"(?i)(?:token|api[_.-]?key|apikey|\bkey|_key|pat)$")
_PASSWORD_NAME = re.compile(r"(?i)secret|pass|pwd")


def has_wrong_provider_shape(c: Candidate) -> bool:
    """Generic rule: a provider-named token (``GITHUB_TOKEN``) whose value is not shaped like
    that provider's tokens. Secrets and passwords of any shape are still secrets."""
    if not c.detector.free_form or not c.name or not _TOKEN_NAME.search(c.name):
        return False
    if _PASSWORD_NAME.search(c.name):
        return False
    return any(n.search(c.name) and not shape.search(c.secret) for n, shape in _PROVIDER_SHAPES)


def is_weak_for_short_name(c: Candidate) -> bool:
    """A short name (``PW``, ``DB_PASS``) says less than ``password``: the value must look
    like a credential on its own: three character classes, or long and random."""
    if not c.detector.free_form or name_strength(c.name) != "short":
        return False
    s = c.secret
    classes = character_classes(s)
    return not (classes >= 3 or (len(s) >= 16 and shannon_entropy(s) >= 3.5))


def fails_validator(c: Candidate) -> bool:
    validator = c.detector.validator
    if validator is None:
        return False
    try:
        return not validator(c.secret.encode())
    except Exception:
        # One candidate a validator cannot judge must not end the scan of every other file,
        # nor be dropped: what matched the rule's pattern is reported.
        return False


# Cheapest and most often decisive first: most keyword hits in code are expressions.
DEFAULT_FILTERS: tuple[Filter, ...] = (
    is_lock_file,
    is_expression,
    has_meta_name,
    is_known_example,
    is_placeholder,
    is_hash_or_uuid,
    is_reference_or_ciphertext,
    is_identifier_like,
    lacks_character_variety,
    is_weak_for_short_name,
    has_wrong_provider_shape,
    is_low_entropy,
    has_dummy_run,
    fails_validator,
)


def rejected_by(c: Candidate, filters: tuple[Filter, ...] = DEFAULT_FILTERS) -> str | None:
    """The name of the first filter that drops the candidate, or None to keep it."""
    for f in filters:
        if f(c):
            return f.__name__
    return None


_FIXTURE_PATH = re.compile(
    r"(?:^|/)(?:tests?|testdata|test_data|fixtures?|__tests__|spec|specs|mocks?)/"
    r"|(?:^|/)(?:test_[^/]*|[^/]*_test\.[a-z]+|[^/]*\.(?:spec|test)\.[a-z]+|conftest\.py)$"
)


def tags_for_path(path: str) -> tuple[str, ...]:
    """Findings in test fixtures are kept (a real key there is still leaked) but marked."""
    return ("test-fixture",) if _FIXTURE_PATH.search(path) else ()
