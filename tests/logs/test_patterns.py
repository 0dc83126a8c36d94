"""Filter patterns over unstructured events, as CloudWatch Logs matches them."""

from __future__ import annotations

import pytest

from registry.logs.errors import LogInvalidParameter
from registry.logs.patterns import parse

LINES = [
    "START RequestId: 1 Version: $LATEST",
    "ERROR could not reach the database",
    "WARN retrying in 2 s",
    "error in lower case",
    "Task timed out after 3.00 seconds",
    "ERROR Retrying after timeout",
]


def matching(pattern: str | None) -> list[str]:
    compiled = parse(pattern)
    return [line for line in LINES if compiled.matches(line)]


@pytest.mark.parametrize("pattern", [None, "", "   "])
def test_empty_pattern__matches_every_event(pattern):
    assert matching(pattern) == LINES


def test_term__is_case_sensitive():
    assert matching("ERROR") == [LINES[1], LINES[5]]


def test_terms__must_all_appear_in_any_order():
    assert matching("database ERROR") == [LINES[1]]


def test_quoted_phrase__matches_only_the_exact_phrase():
    assert matching('"timed out after"') == [LINES[4]]
    assert matching('"out timed"') == []


def test_quoted_phrase__may_hold_an_escaped_quote():
    assert parse(r'"say \"hi\""').matches('they say "hi" twice')


def test_question_marked_terms__any_of_them_matches():
    assert matching("?WARN ?Task") == [LINES[2], LINES[4]]


def test_minus_term__excludes_events_containing_it():
    assert matching("ERROR -Retrying") == [LINES[1]]


def test_quoted_phrase_with_a_sign():
    assert matching('?"timed out" ?WARN') == [LINES[2], LINES[4]]


@pytest.mark.parametrize("pattern", ['{ $.level = "ERROR" }', "[ip, user]", "%ERR.R%"])
def test_structured_patterns__are_refused_rather_than_matching_nothing(pattern):
    with pytest.raises(LogInvalidParameter, match="not supported"):
        parse(pattern)


def test_unclosed_quote__is_refused():
    with pytest.raises(LogInvalidParameter, match="not closed"):
        parse('"timed out')
