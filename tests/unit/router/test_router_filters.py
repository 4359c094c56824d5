"""Per-destination filters: modality, calling AE title, tag rule (Equals / In / Regex / Negate)."""
import pytest

from medimaging_plugin.router.config import Destination
from medimaging_plugin.router.filters import StudyFacts, TagRule, accepts, needs


def rule(**raw):
    return TagRule.parse(raw, "Rule")


def dest(**kwargs):
    kwargs.setdefault("name", "cloud")
    kwargs.setdefault("kind", "dicomweb")
    kwargs.setdefault("server", "cloud")
    kwargs.setdefault("batch_size", 10)
    return Destination(**kwargs)


def test_no_filter_accepts_everything_and_needs_nothing():
    assert accepts(dest(), StudyFacts())
    assert needs(dest()) == set()


def test_modality_filter():
    ct_mr = dest(modalities=("CT", "MR"))
    assert needs(ct_mr) == {"modalities"}
    assert accepts(ct_mr, StudyFacts(modalities=frozenset({"MR"})))
    assert accepts(ct_mr, StudyFacts(modalities=frozenset({"SR", "CT"})))  # any series matching is enough
    assert not accepts(ct_mr, StudyFacts(modalities=frozenset({"CR"})))
    assert not accepts(ct_mr, StudyFacts())


def test_calling_aet_filter():
    only = dest(calling_aets=("CT01", "MR02"))
    assert needs(only) == {"aets"}
    assert accepts(only, StudyFacts(calling_aets=frozenset({"CT01"})))
    assert not accepts(only, StudyFacts(calling_aets=frozenset({"CT99"})))
    assert not accepts(only, StudyFacts())  # uploaded by REST: no RemoteAET


def test_all_filters_must_pass():
    both = dest(modalities=("CT",), calling_aets=("CT01",), tag_rule=rule(Tag="InstitutionName", Equals="GH"))
    assert needs(both) == {"modalities", "aets", "tags"}
    good = StudyFacts(modalities=frozenset({"CT"}), calling_aets=frozenset({"CT01"}), tags={"InstitutionName": "GH"})
    assert accepts(both, good)
    assert not accepts(both, StudyFacts(modalities=good.modalities, calling_aets=frozenset({"X"}), tags=good.tags))
    assert not accepts(both, StudyFacts(modalities=frozenset({"MR"}), calling_aets=good.calling_aets, tags=good.tags))
    assert not accepts(both, StudyFacts(modalities=good.modalities, calling_aets=good.calling_aets,
                                        tags={"InstitutionName": "Other"}))


def test_equals_strips_padding_and_is_exact():
    equals = rule(Tag="InstitutionName", Equals="General Hospital")
    assert equals.matches({"InstitutionName": "General Hospital "})
    assert not equals.matches({"InstitutionName": "general hospital"})
    assert not equals.matches({"InstitutionName": "General Hospital East"})


def test_in():
    one_of = rule(Tag="StationName", In=["CT1", "CT2"])
    assert one_of.matches({"StationName": "CT2"})
    assert not one_of.matches({"StationName": "CT3"})
    assert one_of.describe() == {"tag": "StationName", "op": "In", "value": ["CT1", "CT2"], "negate": False}


def test_regex_is_a_full_match():
    regex = rule(Tag="AccessionNumber", Regex="ACC[0-9]+")
    assert regex.matches({"AccessionNumber": "ACC123"})
    assert not regex.matches({"AccessionNumber": "XACC123"})
    assert not regex.matches({"AccessionNumber": "ACC123X"})
    assert regex.describe()["value"] == "ACC[0-9]+"


def test_negate_inverts_and_a_missing_tag_matches_only_negated():
    negated = rule(Tag="InstitutionName", Equals="Research", Negate=True)
    assert negated.matches({"InstitutionName": "General"})
    assert not negated.matches({"InstitutionName": "Research"})
    assert negated.matches({})
    assert negated.matches(None)
    assert not rule(Tag="InstitutionName", Equals="Research").matches({})


def test_a_sequence_value_never_matches():
    assert not rule(Tag="0008,1110", Regex=".*").matches({"0008,1110": [{"a": "b"}]})


def test_numeric_tag_is_upper_cased_to_match_short_tags():
    numeric = rule(Tag="0008,0080", In=["GH"])
    assert numeric.tag == "0008,0080"
    lower = rule(Tag="0010,00a0", Equals="x")
    assert lower.tag == "0010,00A0"
    assert lower.matches({"0010,00A0": "x"})


@pytest.mark.parametrize("raw", [
    "InstitutionName", {"Equals": "x"}, {"Tag": "0008-0080", "Equals": "x"}, {"Tag": "Inst", "In": [1]},
    {"Tag": "Inst", "Equals": 3}, {"Tag": "Inst", "Regex": "["}, {"Tag": "Inst", "Equals": "x", "Not": True},
])
def test_bad_rules_are_refused(raw):
    from medimaging_plugin.config.errors import ConfigError
    with pytest.raises(ConfigError) as caught:
        TagRule.parse(raw, "Rule")
    assert caught.value.key.startswith("Rule")
