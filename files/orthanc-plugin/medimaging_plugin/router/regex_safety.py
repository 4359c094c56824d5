"""Refuse regular expressions whose matching time can explode (catastrophic backtracking).

Python's re backtracks: a quantifier inside a quantified group, such as (a+)+ or (\\w*)*, can take 2^n
steps on an n-character value that does not match, and a TagRule runs on Orthanc's change thread for every
stable study. So patterns are checked on their parsed form: no repeated group that itself contains a
repeat, no overlapping alternatives inside a repeat, no back-reference, at most a few unbounded repeats, and a bounded length.
"""

import re

try:  # Python 3.11+ (sre_parse is deprecated there)
    from re import _parser as sre_parse  # pylint: disable=no-name-in-module
    from re import _constants as sre_constants  # pylint: disable=no-name-in-module
except ImportError:  # pragma: no cover - older interpreters
    import sre_constants
    import sre_parse

MAX_LENGTH = 256
MAX_UNBOUNDED = 3  # several .* in a row cost n^k steps on a failing match
_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
_REPEATS |= {getattr(sre_constants, "POSSESSIVE_REPEAT")} if hasattr(sre_constants, "POSSESSIVE_REPEAT") else set()


class UnsafeRegex(ValueError):
    pass


def _subpatterns(op, av):
    """The parsed sub-sequences below one node."""
    if op in _REPEATS:
        return [av[2]]
    if op is sre_constants.SUBPATTERN:
        return [av[-1]]
    if op is sre_constants.BRANCH:
        return list(av[1])
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [av[1]]
    if op is getattr(sre_constants, "ATOMIC_GROUP", None):
        return [av]
    return []


def _check_alternatives(branches):
    """Inside a repeat, alternatives that can match the same text, like (a|aa)+, backtrack exponentially:
    accept only plain words none of which starts another."""
    words = []
    for branch in branches:
        if any(op is not sre_constants.LITERAL for op, _av in branch):
            raise UnsafeRegex("alternatives inside a repeated group must be plain words (write (cat|dog)+, "
                              "or a character class such as [a-z0-9]+)")
        words.append("".join(chr(av) for _op, av in branch))
    for word in words:
        if any(other != word and other.startswith(word) for other in words) or words.count(word) > 1:
            raise UnsafeRegex("alternatives inside a repeated group overlap (one starts another, as in (a|ab)+), "
                              "which can take exponential time")


def _check(items, inside_repeat, counts):
    for op, av in items:
        if op in (sre_constants.GROUPREF, getattr(sre_constants, "GROUPREF_EXISTS", None)):
            raise UnsafeRegex("back-references are not supported")
        if op is sre_constants.BRANCH and inside_repeat:
            _check_alternatives(av[1])
        repeats = op in _REPEATS and av[1] > 1
        if repeats:
            if inside_repeat:
                raise UnsafeRegex("nested quantifiers (a repeated group that contains a repeat, like (a+)+) "
                                  "can take exponential time")
            if av[1] == sre_constants.MAXREPEAT:
                counts[0] += 1
                if counts[0] > MAX_UNBOUNDED:
                    raise UnsafeRegex("more than %d unbounded repeats (*, +, {n,})" % MAX_UNBOUNDED)
        for sub in _subpatterns(op, av):
            _check(sub, inside_repeat or repeats, counts)


def compile_safe(pattern):
    """re.compile(pattern) when its matching time is bounded; UnsafeRegex (or re.error) otherwise."""
    if len(pattern) > MAX_LENGTH:
        raise UnsafeRegex("longer than %d characters" % MAX_LENGTH)
    compiled = re.compile(pattern)
    _check(sre_parse.parse(pattern), False, [0])
    return compiled
