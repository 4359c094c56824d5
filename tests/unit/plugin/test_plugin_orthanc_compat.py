"""SendHttpStatus in the forms orthanc-python 4.0 (Orthanc 1.10) and 5.0 (Orthanc 1.12) take."""
import pytest

from medimaging_plugin import orthanc_compat


class Output40:
    """orthanc-python 4.0: (status, str, size); bytes refused."""

    def __init__(self):
        self.sent = []

    def SendHttpStatus(self, *args):  # noqa: N802 - Orthanc's name
        if len(args) != 3 or not isinstance(args[1], str):
            raise TypeError("Bad types for the arguments (3 arguments expected)")
        self.sent.append(args)


class Output50(Output40):
    """orthanc-python 5.0: (status, bytes)."""

    def SendHttpStatus(self, *args):  # noqa: N802
        if len(args) != 2 or not isinstance(args[1], bytes):
            raise TypeError("Bad types for the arguments (2 arguments expected)")
        self.sent.append(args)


@pytest.mark.parametrize("output_class, release, sent", [
    (Output40, "4.0", (404, "nö", 3)), (Output50, "5.0", (404, "nö".encode()))])
def test_each_release_gets_its_form_and_it_is_remembered(output_class, release, sent):
    for _ in range(2):
        output = output_class()
        assert orthanc_compat.send_http_status(output, 404, "nö".encode()) == release
        assert output.sent == [sent]
    assert orthanc_compat._STATUS_FORMS[0][0] == release


def test_a_type_error_of_every_form_is_raised():
    class Broken:
        def SendHttpStatus(self, *args):  # noqa: N802
            raise TypeError("no")

    with pytest.raises(TypeError):
        orthanc_compat.send_http_status(Broken(), 500, b"x")
