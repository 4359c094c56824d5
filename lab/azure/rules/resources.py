"""Microsoft.Resources and the envelope every resource shares: resource group names, locations, tags, and the
top-level fields that must be objects (so no behaviour ever meets a list where it expects an object)."""
from lab.azure.rules import locations
from lab.azure.rules.fields import matches, refuse
from lab.azure.validation import api_versions

RESOURCES_PACKAGE = "azure.mgmt.resource.resources"
API_VERSION = r"\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?"

# From the ARM specs: 1-90 letters, digits (Unicode word characters), '_', '-', '.', '(', ')'; not ending in '.'.
RESOURCE_GROUP_NAME = r"[-\w._()]{1,90}"
_TAG_NAME_FORBIDDEN = set("<>%&\\?/")
MAX_TAGS = 50


def check_resource_group_name(name):
    if not matches(RESOURCE_GROUP_NAME, name) or name.endswith("."):
        refuse("InvalidResourceGroupName", f"Resource group name {name!r} is invalid: it must be 1-90 characters of "
               "letters, digits, '_', '-', '.', '(' and ')', and must not end with '.'.")


def check_resource_group(name, body):
    check_resource_group_name(name)
    locations.check_resource_group(body.get("location"))
    check_tags(body.get("tags"))


def check_tags(tags):
    if tags is None:
        return
    if not isinstance(tags, dict):
        refuse("InvalidTagsFormat", f"The tags must be a JSON object of names and string values, got {type(tags).__name__}.")
    if len(tags) > MAX_TAGS:
        refuse("InvalidTagsCount", f"The resource has {len(tags)} tags: at most {MAX_TAGS} are allowed.")
    for name, value in tags.items():
        if not name or len(name) > 512:
            refuse("InvalidTagNameLength", f"The tag name {name!r} must be 1-512 characters.")
        if _TAG_NAME_FORBIDDEN & set(name) or any(ord(c) < 32 for c in name):
            refuse("InvalidTagNameCharacters", f"The tag name {name!r} has characters that are not allowed "
                   "(<, >, %, &, \\, ?, / or control characters).")
        if not isinstance(value, str):
            refuse("InvalidTagValue", f"The value of tag {name!r} must be a string, got {type(value).__name__}.")
        if len(value) > 256:
            refuse("InvalidTagValueLength", f"The value of tag {name!r} is {len(value)} characters: at most 256.")


def check_envelope(resource_type, body):
    """location (tracked types), tags, and the fields that must be objects when present."""
    for key in ("properties", "sku", "identity", "plan"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            refuse("InvalidRequestContent", f"The request content was invalid: '{key}' must be a JSON object, got "
                   f"{type(body[key]).__name__}.")
    if resource_type.tracked and body.get("location") is not None:
        locations.check_resource(resource_type.type, body["location"])
    check_tags(body.get("tags"))


def check_api_version_format(api_version):
    if not matches(API_VERSION, api_version):
        refuse("InvalidApiVersionParameter", f"The api-version {api_version!r} is invalid. The api-version must be a "
               "date, YYYY-MM-DD, with an optional -preview suffix.")


def check_resource_group_api_version(api_version):
    """Resource groups: any version up to the newest the installed SDK knows (ARM keeps old ones); later is unknown."""
    newest = max(api_versions(RESOURCES_PACKAGE))
    if api_version[:10] > newest[:10]:
        refuse("InvalidApiVersionParameter", f"The api-version {api_version!r} is invalid. The supported versions "
               f"for resource groups go up to '{newest}'.")
