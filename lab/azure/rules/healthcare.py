"""Microsoft.HealthcareApis (Health Data Services): workspace and DICOM service names. The specs bound both to
3-24 characters; the service URL <workspace>-<service>.dicom.azurehealthcareapis.com makes them DNS labels."""
from lab.azure.rules.fields import matches, refuse

NAME = r"[a-z0-9][a-z0-9-]{1,22}[a-z0-9]"


def _name(kind, name):
    if not matches(NAME, name):
        refuse("InvalidResourceName", f"The {kind} name {name!r} is invalid: it must be 3-24 characters of lower-case "
               "letters, digits and hyphens, starting and ending with a letter or digit.")


def workspace(arm_path, body):
    _name("workspace", arm_path.names[0])


def dicom_service(arm_path, body):
    _name("workspace", arm_path.names[0])
    _name("DICOM service", arm_path.names[-1])
