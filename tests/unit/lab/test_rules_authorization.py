"""Role assignments name their principal by a GUID object id."""
import uuid

import pytest

from rules_helpers import check_body

TAIL = "Microsoft.Authorization/roleAssignments/" + str(uuid.uuid4())
ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


@pytest.mark.parametrize("principal", ["", "not-a-guid", None, 5, str(uuid.uuid4()) + "\n"])
def test_a_principal_that_is_not_a_guid_is_refused(principal):
    status, code, message = check_body(TAIL, {"properties": {"roleDefinitionId": ROLE, "principalId": principal}})
    assert (status, code) == (400, "InvalidPrincipalId") and "properties.principalId" in message


def test_a_guid_principal_passes():
    assert check_body(TAIL, {"properties": {"roleDefinitionId": ROLE, "principalId": str(uuid.uuid4())}}) is None
