"""Microsoft.DBforPostgreSQL/flexibleServers: the server is a login role (the administrator) in the lab
PostgreSQL cluster, its databases are real databases owned by that role; fullyQualifiedDomainName and
the cluster port reach them (TLS with the lab CA). The lab shares one cluster, so two servers cannot
use the same administrator login or database name: that is refused with a clear 409.
"""
import re

from lab.azure.behaviours import Behaviour
from lab.azure.web import HttpError
from lab.postgres import quote_ident, quote_literal

SERVER_TYPE = "microsoft.dbforpostgresql/flexibleservers"
_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_RESERVED_LOGINS = {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public",
                    "postgres"}
_SYSTEM_DATABASES = {"postgres", "azure_maintenance", "azure_sys", "template0", "template1"}


def _servers(ctx, exclude_id):
    return ctx.store.resources(lambda r: r["body"]["type"].lower() == SERVER_TYPE
                               and r["body"]["id"].lower() != exclude_id.lower())


def _server_of(ctx, child_record):
    return ctx.store.get_resource(child_record["body"]["id"].rsplit("/", 2)[0])


class FlexibleServer(Behaviour):
    def prepare(self, ctx, record, previous):
        body, private = record["body"], record["private"]
        props = body.setdefault("properties", {})
        if not _SERVER_NAME.match(body["name"]):
            raise HttpError(400, "InvalidServerName", f"Server name '{body['name']}' is invalid: 3-63 characters, "
                            "lower-case letters, digits and hyphens, not starting or ending with a hyphen.")
        kept = (previous or {}).get("body", {}).get("properties", {})
        login = kept.get("administratorLogin") or props.get("administratorLogin")
        if props.get("administratorLogin") and kept.get("administratorLogin") and \
                props["administratorLogin"] != kept["administratorLogin"]:
            raise HttpError(400, "InvalidParameterValue", "The administrator login cannot be changed.")
        password = props.pop("administratorLoginPassword", None)
        if not previous:
            if not login or not password:
                raise HttpError(400, "InvalidParameterValue", "administratorLogin and administratorLoginPassword "
                                "are required to create a server.")
            if login.lower() in _RESERVED_LOGINS or login.lower().startswith("pg_"):
                raise HttpError(400, "InvalidAdministratorLogin", f"The administrator login '{login}' is reserved: "
                                "choose another name.")
            for other in _servers(ctx, body["id"]):
                if other["body"]["name"] == body["name"]:
                    raise HttpError(409, "ServerNameAlreadyExists", f"Specified server name '{body['name']}' is "
                                    "already used.")
                if other["body"]["properties"].get("administratorLogin", "").lower() == login.lower():
                    raise HttpError(409, "LabLoginInUse", f"The lab's PostgreSQL cluster already has a server with "
                                    f"administrator login '{login}' ({other['body']['name']}): use another login.")
        if password:
            private["pendingPassword"] = password
        props["administratorLogin"] = login
        props["fullyQualifiedDomainName"] = ctx.postgres_host
        props["state"] = "Ready"
        props.setdefault("version", kept.get("version", "16"))
        props.setdefault("storage", kept.get("storage", {"storageSizeGB": 32, "autoGrow": "Disabled"}))
        props.setdefault("backup", kept.get("backup", {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}))
        props.setdefault("highAvailability", kept.get("highAvailability", {"mode": "Disabled"}))
        props.setdefault("network", kept.get("network", {"publicNetworkAccess": "Enabled"}))
        private["port"] = ctx.postgres.port

    def provision(self, ctx, record):
        props, private = record["body"]["properties"], record["private"]
        login = props["administratorLogin"]
        password = private.get("pendingPassword")
        if password:
            ctx.postgres.create_role(login, password)
            # Like azure_pg_admin: may create databases and roles, is not a superuser.
            ctx.postgres.sql(f"ALTER ROLE {quote_ident(login)} CREATEDB CREATEROLE")
            ctx.store.update_body(record["body"]["id"], lambda b, p: p.pop("pendingPassword", None))

    def deprovision(self, ctx, record):
        login = record["body"]["properties"].get("administratorLogin")
        if login:
            exists = ctx.postgres.sql(f"SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(login)}").strip()
            if exists:
                ctx.postgres.sql(f"DROP OWNED BY {quote_ident(login)} CASCADE")
                ctx.postgres.sql(f"DROP ROLE {quote_ident(login)}")

    def action_restart(self, ctx, record, body):
        return 200, None

    def action_start(self, ctx, record, body):
        ctx.store.update_body(record["body"]["id"], lambda b, p: b["properties"].update(state="Ready"))
        return 200, None

    def action_stop(self, ctx, record, body):
        ctx.store.update_body(record["body"]["id"], lambda b, p: b["properties"].update(state="Stopped"))
        return 200, None


class Database(Behaviour):
    def prepare(self, ctx, record, previous):
        name = record["body"]["name"]
        if name.lower() in _SYSTEM_DATABASES:
            raise HttpError(400, "InvalidParameterValue", f"'{name}' is a system database name.")
        server = _server_of(ctx, record)
        for other in ctx.store.resources(lambda r: r["body"]["type"].lower() == SERVER_TYPE + "/databases"
                                         and r["body"]["name"] == name and not
                                         r["body"]["id"].lower().startswith(server["body"]["id"].lower() + "/")):
            raise HttpError(409, "LabDatabaseNameInUse", f"The lab's PostgreSQL cluster already has a database "
                            f"'{name}' (under {other['body']['id'].rsplit('/', 2)[0]}): use another name.")
        props = record["body"].setdefault("properties", {})
        props.setdefault("charset", "UTF8")
        props.setdefault("collation", "en_US.utf8")

    def provision(self, ctx, record):
        server = _server_of(ctx, record)
        owner = server["body"]["properties"]["administratorLogin"]
        ctx.postgres.create_database(record["body"]["name"], owner)

    def deprovision(self, ctx, record):
        ctx.postgres.drop_database(record["body"]["name"])


class Configuration(Behaviour):
    def prepare(self, ctx, record, previous):
        name = record["body"]["name"]
        row = ctx.postgres.sql("SELECT setting, boot_val, vartype, COALESCE(short_desc, ''), "
                               "array_to_string(enumvals, ',') FROM pg_settings WHERE name = "
                               f"{quote_literal(name)}").strip()
        if not row:
            raise HttpError(400, "ConfigurationNotExists", f"The configuration '{name}' does not exist for "
                            f"PostgreSQL server version {ctx.postgres_version}.")
        _setting, default, vartype, description, allowed = row.split("|")[:5]
        props = record["body"].setdefault("properties", {})
        props.update(defaultValue=default, dataType={"bool": "Boolean", "integer": "Integer", "real": "Numeric",
                                                     "enum": "Enumeration"}.get(vartype, "String"),
                     description=description, allowedValues=allowed, source="user-override",
                     isConfigPendingRestart=False, isDynamicConfig=True, isReadOnly=False)
