"""Forms of a secret that masking must catch beyond its plain text: every line of a multi-line
value, the other line ending, lower-case percent-encoding, Python's repr/backslash escaping."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultline.redact import Masker
from vaultline.redact._matchers import Backend
from vaultline.redact.masker import too_short

PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MC4CAQAwBQYDK2VwBCIEIDx1Zk7aQ4b0n3mJq8Y2vR6tW5uX1yZ0aB9cD8eF7gH6\n"
       "-----END PRIVATE KEY-----\n")
BODY = PEM.splitlines()[1]
QUOTED = "pa'ss\"wo\\rd-\u00e9-\n-tail"


def leaks(masker: Masker, text: str, *secrets: str) -> list[str]:
    masked = masker.mask_str(text)
    return [s for s in secrets if s in masked]


@pytest.mark.parametrize("shown", [
    BODY,                                            # one line of a PEM: the whole key
    f"key line: {BODY[:40]}",                         # not: a fragment is not a line
    PEM.replace("\n", "\r\n"),                       # CRLF line ends
    f"first line {PEM.splitlines()[0]}",             # a header line is a line too (>= 8)
])
def test_lines_of_a_multiline_secret(shown: str, backend: Backend) -> None:
    masker = Masker([PEM], backend=backend)
    masked = masker.mask_str(shown)
    if shown.startswith("key line"):
        assert masked == shown  # a fragment shorter than a line says nothing about the key
    else:
        assert BODY not in masked and "BEGIN PRIVATE" not in masked, masked


def test_crlf_secret_shown_with_lf(backend: Backend) -> None:
    crlf = "line-one-secret\r\nline-two-secret"
    masker = Masker([crlf], backend=backend)
    assert masker.mask_str("x line-one-secret\nline-two-secret y") == "x ******** y"
    assert masker.mask_str("x " + crlf + " y") == "x ******** y"


def test_short_lines_are_not_masked_alone(backend: Backend) -> None:
    masker = Masker(["ab\nthe-long-second-line"], backend=backend)
    assert masker.mask_str("ab cd ab") == "ab cd ab"  # "ab" alone would mask everything
    assert masker.mask_str("the-long-second-line") == "********"


@pytest.mark.parametrize("encode", [
    lambda v: quote(v, safe=""),
    lambda v: quote(v, safe="").lower(),      # %2f rather than %2F
    lambda v: quote(v).replace("%2F", "%2f"),
    lambda v: quote(v, safe="/").lower(),
])
def test_percent_encoding_any_case(encode: object, backend: Backend) -> None:
    secret = "s3cret/with+slash&amp=é"
    masker = Masker([secret], backend=backend)
    shown = encode(secret)  # type: ignore[operator]
    assert shown != secret
    assert masker.mask_str(f"url?p={shown}&x=1") == "url?p=********&x=1"


@pytest.mark.parametrize("render", [
    lambda v: repr(v),
    lambda v: repr({"k": v}),
    lambda v: repr([("t", v)]),
    lambda v: ascii(v),
    lambda v: str(KeyError(v)),
    lambda v: repr(KeyError(v)),
    lambda v: repr(repr(v)),
    lambda v: "%r" % (v,),  # noqa: UP031 - what a log call with %r prints
])
def test_python_escaped_forms(render: object, backend: Backend) -> None:
    masker = Masker([QUOTED], backend=backend)
    shown = render(QUOTED)  # type: ignore[operator]
    masked = masker.mask_str(shown)
    assert "wo" not in masked and "tail" not in masked, masked


def test_keyerror_traceback_in_logging(backend: Backend) -> None:
    masker = Masker([QUOTED], backend=backend)
    try:
        {}[QUOTED]
    except KeyError:
        import sys
        text = logging.Formatter().formatException(sys.exc_info())
    assert "tail" in text
    assert "tail" not in masker.mask_str(text)


@pytest.mark.parametrize(("value", "short"), [
    ("abc", True), ("admin", True), ("prod", True), ("1234567", True), ("letters", True),
    ("x9!k2", True), ("x9!k2q", False), ("hunter2", False), ("s3cret-canary", False),
    ("longerword", False),
])
def test_too_short_to_mask_safely(value: str, short: bool) -> None:
    assert too_short(value) is short


def test_short_secret_warnings_name_the_key_only() -> None:
    from vaultline.redact.masker import short_secret_warnings
    from vaultline.resolve.bundle import Bundle, Layer, Provenance, ResolvedValue

    values = {"Db:User": ("admin", True), "Db:Password": ("x9!Tq2-long-enough", True),
              "Level": ("Info", False)}
    bundle = Bundle("prod", {k: ResolvedValue(k, v, s, Provenance(Layer.SECRETS, "t"))
                             for k, (v, s) in values.items()})
    (warning,) = short_secret_warnings(bundle)
    assert warning.startswith("Db:User: the secret is short") and "secret: false" in warning
    assert "admin" not in warning


@given(st.text(alphabet=st.sampled_from("aZ09_.~-+/%'\"\\é \n"), min_size=2, max_size=30))
def test_the_fast_path_for_unescaped_values_gives_every_form(value: str) -> None:
    import re

    from vaultline.redact import _forms

    fast = _forms.encoded_forms(value)
    saved = _forms._UNESCAPED
    _forms._UNESCAPED = re.compile(r"(?!)")  # never taken: every form computed in full
    try:
        assert fast == _forms.encoded_forms(value)
    finally:
        _forms._UNESCAPED = saved


# What other languages' standard encoders print for the same value: each leaves a different
# set of characters unescaped, so Python's quote() alone is not "percent-encoding".
WEB_SECRET = "p@ss!w0rd*(x)'<&>/$;=,é+ k~%:?#"

# Each encoder by what its documentation says it leaves unescaped besides ASCII letters and
# digits, and whether it writes a space as "+".
ENCODERS: dict[str, tuple[str, bool]] = {
    "python quote": ("-_.~/", False),
    "python quote safe='', php rawurlencode": ("-_.~", False),
    "js encodeURIComponent": ("-_.!~*'()", False),
    "js encodeURI": ("-_.!~*'();/?:@&=+$,#", False),
    "whatwg userinfo (new URL, fetch)": ("-._~!$%&'()*+,", False),
    "go url.UserPassword": ("-_.~$&+,;=", False),
    "go url.PathEscape": ("-_.~$&+:=@", False),
    "go url.QueryEscape, python quote_plus": ("-_.~", True),
    "java URLEncoder, URLSearchParams, html forms": (".-*_", True),
    "php urlencode": ("-_.", True),
}


def percent_encode(value: str, kept: str, plus: bool, hex_format: str = "%{:02X}") -> str:
    """`value` as an encoder that leaves ASCII letters, digits and `kept` as they are writes it."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if (char.isascii() and char.isalnum()) or char in kept:
            out.append(char)
        elif plus and char == " ":
            out.append("+")
        else:
            out.append(hex_format.format(byte))
    return "".join(out)


# What the real encoders print for every printable ASCII character and two non-ASCII ones
# (Java 17's URLEncoder.encode(s, "UTF-8"); Node 18), so the models above are not guesses.
PRINTABLE = "".join(map(chr, range(0x20, 0x7F))) + "é€"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D"
PRINTED = {
    "java URLEncoder, URLSearchParams, html forms":
        "+%21%22%23%24%25%26%27%28%29*%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40"
        + _LETTERS + "%7E%C3%A9%E2%82%AC",
    "js encodeURIComponent":
        "%20!%22%23%24%25%26'()*%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40"
        + _LETTERS + "~%C3%A9%E2%82%AC",
    "js encodeURI":
        "%20!%22#$%25&'()*+,-./0123456789:;%3C=%3E?@" + _LETTERS + "~%C3%A9%E2%82%AC",
    "whatwg userinfo (new URL, fetch)":
        "%20!%22%23$%&'()*+,-.%2F0123456789%3A%3B%3C%3D%3E%3F%40"
        + _LETTERS + "~%C3%A9%E2%82%AC",
}


@pytest.mark.parametrize("name", PRINTED)
def test_the_encoder_models_print_what_the_encoders_print(name: str) -> None:
    assert percent_encode(PRINTABLE, *ENCODERS[name]) == PRINTED[name]


@given(st.text(max_size=20))
def test_the_encoder_models_agree_with_pythons_own(value: str) -> None:
    from urllib.parse import quote_plus

    assert percent_encode(value, *ENCODERS["python quote"]) == quote(value)
    assert percent_encode(value, *ENCODERS["python quote safe='', php rawurlencode"]) == quote(
        value, safe="")
    assert percent_encode(value, *ENCODERS["go url.QueryEscape, python quote_plus"]) == \
        quote_plus(value)


@pytest.mark.parametrize("hex_format", ["%{:02X}", "%{:02x}"], ids=["upper", "lower"])
@pytest.mark.parametrize("name", ENCODERS)
def test_percent_encoding_of_other_encoders(name: str, hex_format: str,
                                            backend: Backend) -> None:
    masker = Masker([WEB_SECRET], backend=backend)
    shown = percent_encode(WEB_SECRET, *ENCODERS[name], hex_format)
    assert masker.mask_str(f"url?p={shown}&x=1") == "url?p=********&x=1", shown


@pytest.mark.parametrize("name", ENCODERS)
def test_a_value_of_unreserved_characters_in_every_encoding(name: str, backend: Backend) -> None:
    # Nothing but letters, digits and -._~: only form encoding (Java, PHP) escapes the ~.
    secret = "tilde~secret_value1"
    masker = Masker([secret], backend=backend)
    shown = percent_encode(secret, *ENCODERS[name])
    assert masker.mask_str(f"key={shown}\n") == "key=********\n", shown


@pytest.mark.parametrize("encode", [
    lambda v: json.dumps(v).replace("<", "\\u003c").replace(">", "\\u003e")
    .replace("&", "\\u0026"),                                   # Go encoding/json
    lambda v: json.dumps(v, ensure_ascii=False).replace("<", "\\u003c")
    .replace(">", "\\u003e").replace("&", "\\u0026"),
    lambda v: json.dumps(v).replace("/", "\\/"),                 # PHP json_encode
    lambda v: json.dumps(v).replace("\\u00e9", "\\u00E9"),       # upper-case hex digits
], ids=["go", "go-utf8", "php", "upper-hex"])
def test_json_escaping_of_other_encoders(encode: object, backend: Backend) -> None:
    masker = Masker([WEB_SECRET], backend=backend)
    shown = encode(WEB_SECRET)  # type: ignore[operator]
    assert shown[1:-1] != WEB_SECRET
    assert masker.mask_str(f'{{"p": {shown}}}') == '{"p": "********"}', shown


@given(st.text(alphabet=st.sampled_from(list("aZ09_.-~ /:@!'()*;,?&=+$#%\"<>\\\u00e9\u20ac\U0001f511")),
               min_size=1, max_size=24))
def test_percent_forms_are_what_each_encoder_writes(value: str) -> None:
    """The forms computed once per distinct escaping equal every encoder's output, each in
    upper and lower hex."""
    from vaultline.redact._forms import _percent_forms

    written = {percent_encode(value, kept, plus, hex_format) for kept, plus in ENCODERS.values()
               for hex_format in ("%{:02X}", "%{:02x}")}
    assert _percent_forms(value.encode()) == {text.encode() for text in written}
