"""Per-destination filters: modality, calling AE title, one DICOM tag rule, and the study facts they read.

A filter only sees a StudyFacts (what the study holds), so it is pure and unit-testable; gather_facts()
reads from Orthanc only the facts the destinations' filters use (needs()).
"""

import re
from dataclasses import dataclass
from typing import Optional

from ..config.errors import ConfigError
from .dicom_tags import tag_of
from .regex_safety import UnsafeRegex, compile_safe

_OPS = ("Equals", "In", "Regex")


@dataclass(frozen=True)
class StudyFacts:
    modalities: frozenset = frozenset()  # Modality of every series
    calling_aets: frozenset = frozenset()  # RemoteAET metadata of the instances looked at
    tags: Optional[dict] = None  # simplified tags of one instance (name -> value) and "gggg,eeee" keys


@dataclass(frozen=True)
class TagRule:
    """{"Tag": "InstitutionName" (a keyword of dicom_tags.KEYWORDS) | "0008,0080", one of "Equals": str, "In": [str], "Regex": str,
    optional "Negate": true}. A missing tag never matches (Negate then matches)."""

    tag: str
    op: str
    value: object
    negate: bool = False
    key: str = ""  # gggg,eeee: the facts hold every tag under this form too, whatever Orthanc names it

    @classmethod
    def parse(cls, raw, path):
        if not isinstance(raw, dict):
            raise ConfigError(path, "expected a JSON object like {\"Tag\": \"InstitutionName\", \"Equals\": \"X\"}")
        unknown = set(raw) - {"Tag", "Negate"} - set(_OPS)
        if unknown:
            raise ConfigError("%s.%s" % (path, sorted(unknown)[0]), "unknown key",
                              "use Tag, one of %s, and optionally Negate" % ", ".join(_OPS))
        tag = raw.get("Tag")
        try:
            key = tag_of(tag)
        except ValueError as exc:
            raise ConfigError(path + ".Tag", str(exc)) from None
        ops = [op for op in _OPS if op in raw]
        if len(ops) != 1:
            raise ConfigError(path, "exactly one of %s is required" % ", ".join(_OPS))
        op, value = ops[0], raw[ops[0]]
        if op == "In":
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise ConfigError(path + ".In", "expected a non-empty list of strings")
            value = tuple(value)
        elif not isinstance(value, str):
            raise ConfigError("%s.%s" % (path, op), "expected a string")
        if op == "Regex":
            try:
                value = compile_safe(value)
            except (re.error, UnsafeRegex) as exc:
                raise ConfigError(path + ".Regex", "refused regular expression: %s" % exc) from None
        negate = raw.get("Negate", False)
        if not isinstance(negate, bool):
            raise ConfigError(path + ".Negate", "expected true or false")
        return cls(tag=tag.upper() if "," in tag else tag, op=op, value=value, negate=negate, key=key)

    def describe(self):
        value = self.value.pattern if self.op == "Regex" else self.value
        return {"tag": self.tag, "op": self.op, "value": list(value) if self.op == "In" else value,
                "negate": self.negate}

    def matches(self, tags):
        tags = tags or {}
        found = tags.get(self.key, tags.get(self.tag))
        if isinstance(found, str):
            found = found.strip()
            if self.op == "Equals":
                result = found == self.value
            elif self.op == "In":
                result = found in self.value
            else:
                result = self.value.fullmatch(found) is not None
        else:
            result = False  # absent or a sequence: no match
        return result != self.negate


def needs(destination):
    """Which facts a destination's filters need: a set of 'modalities', 'aets', 'tags'."""
    wanted = set()
    if destination.modalities:
        wanted.add("modalities")
    if destination.calling_aets:
        wanted.add("aets")
    if destination.tag_rule:
        wanted.add("tags")
    return wanted


def accepts(destination, facts):
    """True when the study passes every filter of the destination (no filter: everything passes)."""
    if destination.modalities and not (facts.modalities & set(destination.modalities)):
        return False
    if destination.calling_aets and not (facts.calling_aets & set(destination.calling_aets)):
        return False
    if destination.tag_rule and not destination.tag_rule.matches(facts.tags):
        return False
    return True


def gather_facts(api, study_id, destinations):
    """StudyFacts of a study for these destinations' filters: series modalities, the RemoteAET of each series'
    first instance, the tags of the study's first instance (by name and by gggg,eeee), each read only if needed."""
    wanted = set()
    for destination in destinations:
        wanted |= needs(destination)
    if not wanted:
        return StudyFacts()
    series = api.get_json("/studies/%s/series" % study_id)
    modalities = frozenset(s.get("MainDicomTags", {}).get("Modality", "").upper() for s in series)
    aets, tags = set(), None
    first_instances = [s["Instances"][0] for s in series if s.get("Instances")]
    if "aets" in wanted:
        for instance in first_instances:
            remote = api.get_json("/instances/%s/metadata?expand" % instance).get("RemoteAET")
            if remote:  # absent when not received by C-STORE
                aets.add(remote.strip())
    if "tags" in wanted and first_instances:
        tags = dict(api.get_json("/instances/%s/simplified-tags" % first_instances[0]))
        short = api.get_json("/instances/%s/tags?short" % first_instances[0])
        tags.update({k.upper(): v for k, v in short.items()})
    return StudyFacts(modalities=modalities, calling_aets=frozenset(aets), tags=tags)
