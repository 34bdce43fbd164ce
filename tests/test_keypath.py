import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultline.project import keypath


@pytest.mark.parametrize(
    ("nested", "flat"),
    [
        ({"A": {"B": 1}}, {"A:B": 1}),
        ({"A:B": 1, "A": {"C": 2}}, {"A:B": 1, "A:C": 2}),
        ({"A": {"B": {"C": [1, 2]}}}, {"A:B:C": [1, 2]}),
        ({"A": {}}, {"A": {}}),
    ],
)
def test_flatten(nested: dict[str, object], flat: dict[str, object]) -> None:
    assert keypath.flatten(nested) == flat


def test_nest_is_the_inverse_of_flatten() -> None:
    flat = {"ConnectionStrings:Primary": "x", "ConnectionStrings:Replica": "y", "Top": 1}
    assert keypath.flatten(keypath.nest(flat)) == flat
    assert keypath.nest(flat) == {"ConnectionStrings": {"Primary": "x", "Replica": "y"}, "Top": 1}


@pytest.mark.parametrize(
    ("key", "env", "prefix"),
    [
        ("ConnectionStrings:Primary", "CONNECTIONSTRINGS__PRIMARY", ""),
        ("AI:OpenAI:ApiKey", "APP_AI__OPENAI__APIKEY", "APP_"),
        ("Feature-Flags:beta.search", "FEATURE_FLAGS__BETA_SEARCH", ""),
    ],
)
def test_env_name(key: str, env: str, prefix: str) -> None:
    assert keypath.env_name(key, prefix) == env


@given(st.text(alphabet=st.sampled_from("aZ09_:.-é ß\u0130"), max_size=12))
def test_env_name_is_each_segment_made_safe_joined_by_two_underscores(key: str) -> None:
    import re

    by_segment = "__".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in key.split(":"))
    assert keypath.env_name(key) == by_segment.upper()


@pytest.mark.parametrize(
    ("key", "problem"),
    [("", "empty key"), ("A::B", "empty segment"), ("A:B C", "may hold only"),
     ("A:B\n", "may hold only"), ("A\n:B", "may hold only"), ("A:B", None)],
)
def test_validate(key: str, problem: str | None) -> None:
    result = keypath.validate(key)
    assert (result is None) if problem is None else (problem in (result or ""))


@given(st.text(max_size=40))
def test_env_name_in_one_pass_is_the_per_segment_rule(key: str) -> None:
    """Each segment's characters outside [A-Za-z0-9_] become '_', segments join with '__'."""
    import re

    per_segment = "__".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in key.split(":"))
    assert keypath.env_name(key, "P_") == "P_" + per_segment.upper()


@pytest.mark.parametrize("key", ["A\n", "A\n:B", "Db:Password\n", "A\r", "A:\n"])
def test_a_line_break_is_no_part_of_a_key(key: str) -> None:
    # `$` in a pattern also matches before a final newline: the rules hold to the end.
    assert keypath.validate(key) is not None


def test_env_names_refuse_a_leading_digit_and_a_shared_name() -> None:
    from vaultline.errors import ConfigError

    assert keypath.env_names(["A:B", "1A:B"], "APP_") == ["APP_A__B", "APP_1A__B"]
    with pytest.raises(ConfigError, match=r"^'1A:B': its variable name 1A__B starts with a digit"):
        keypath.env_names(["A:B", "1A:B"])
    with pytest.raises(ConfigError, match=r"^'a-b' and 'A_B' are both the variable A_B"):
        keypath.env_names(["a-b", "A_B"])
