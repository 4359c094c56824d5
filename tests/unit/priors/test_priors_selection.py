"""Which priors: the most recent N, without the current study, with the modality / body-part filters,
over both QIDO value forms (standard DICOM JSON lists, and Orthanc's client's "A\\B" strings)."""
import pytest

from medimaging_plugin.priors.selection import (BODY_PART, MODALITIES_IN_STUDY, STUDY_DATE, STUDY_TIME, STUDY_UID,
                                                body_parts_of, most_recent, values)


def study(uid, date, time="", modalities=("CT",), orthanc_form=False):
    def tag(value):
        if orthanc_form:
            return {"Name": "x", "Type": "String", "Value": "\\".join(value) if isinstance(value, tuple) else value}
        return {"vr": "CS", "Value": list(value) if isinstance(value, tuple) else [value]}
    entry = {STUDY_UID: tag(uid), STUDY_DATE: tag(date), MODALITIES_IN_STUDY: tag(tuple(modalities))}
    if time:
        entry[STUDY_TIME] = tag(time)
    return entry


@pytest.mark.parametrize("orthanc_form", [False, True])
def test_most_recent_n_excluding_the_current_study(orthanc_form):
    answer = [study("1.2019", "20190301", orthanc_form=orthanc_form),
              study("1.2022", "20220301", orthanc_form=orthanc_form),
              study("1.current", "20240501", orthanc_form=orthanc_form),
              study("1.2021", "20210301", orthanc_form=orthanc_form),
              study("1.2020", "20200301", orthanc_form=orthanc_form)]
    assert most_recent(answer, "1.current", 2) == [("1.2022", "20220301"), ("1.2021", "20210301")]
    assert [uid for uid, _ in most_recent(answer, "1.current", 10)] == ["1.2022", "1.2021", "1.2020", "1.2019"]


@pytest.mark.parametrize("orthanc_form", [False, True])
def test_modality_filter_on_modalities_in_study(orthanc_form):
    answer = [study("1.mr", "20230101", modalities=("MR",), orthanc_form=orthanc_form),
              study("1.ctpt", "20220101", modalities=("PT", "CT"), orthanc_form=orthanc_form),
              study("1.cr", "20210101", modalities=("CR",), orthanc_form=orthanc_form),
              study("1.ct", "20200101", modalities=("ct",), orthanc_form=orthanc_form)]
    assert most_recent(answer, "", 3, ("CT",)) == [("1.ctpt", "20220101"), ("1.ct", "20200101")]
    assert [u for u, _ in most_recent(answer, "", 3, ("MR", "CR"))] == ["1.mr", "1.cr"]
    assert [u for u, _ in most_recent(answer, "", 3)] == ["1.mr", "1.ctpt", "1.cr"]


def test_same_day_is_ordered_by_time():
    answer = [study("1.morning", "20230101", "080000"), study("1.evening", "20230101", "193000")]
    assert [u for u, _ in most_recent(answer, "", 1)] == ["1.evening"]


def test_garbage_answers_give_nothing():
    assert most_recent({"error": "x"}, "", 3) == []
    assert most_recent(None, "", 3) == []
    assert most_recent([{"no": "uid"}, "text"], "", 3) == []


def test_values_both_forms():
    assert values({BODY_PART: {"Value": ["CHEST", "ABDOMEN"]}}, BODY_PART) == ["CHEST", "ABDOMEN"]
    assert values({BODY_PART: {"Value": "CHEST\\ABDOMEN"}}, BODY_PART) == ["CHEST", "ABDOMEN"]
    assert values({BODY_PART: {"vr": "CS"}}, BODY_PART) == []
    assert values({}, BODY_PART) == []
    assert values("not a dict", BODY_PART) == []


def test_body_parts_of_series_answer_both_forms_upper_cased():
    answer = [{BODY_PART: {"Value": ["chest"]}}, {BODY_PART: {"Value": "HEAD\\neck"}}, {"other": {}}]
    assert body_parts_of(answer) == {"CHEST", "HEAD", "NECK"}
    assert body_parts_of(None) == set()
