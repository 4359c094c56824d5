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
        # The requested major version is reported even if the shared lab cluster runs another one.
        props["version"] = str(props.get("version") or kept.get("version") or "16")
        private["backingVersion"] = ctx.postgres_version
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
        seed_parameters(ctx, record)

    def resume(self, ctx, record):
        seed_parameters(ctx, record)

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


# Server parameters exist from the server's creation, as on Azure: (default, dataType, allowedValues, dynamic,
# description). Others known to the backing cluster (pg_settings) may be set as well.
_EXTENSIONS = ("address_standardizer,address_standardizer_data_us,amcheck,bloom,btree_gin,btree_gist,citext,cube,"
               "dblink,dict_int,dict_xsyn,earthdistance,fuzzystrmatch,hstore,intagg,intarray,isn,lo,ltree,"
               "pg_buffercache,pg_cron,pg_freespacemap,pg_partman,pg_prewarm,pg_stat_statements,pg_trgm,"
               "pg_visibility,pgaudit,pgcrypto,pglogical,pgrowlocks,pgstattuple,plpgsql,postgis,postgres_fdw,"
               "seg,sslinfo,tablefunc,tsm_system_rows,tsm_system_time,unaccent,uuid-ossp,vector")
_PRELOAD = "age,anon,auto_explain,azure_storage,pg_cron,pg_failover_slots,pg_hint_plan,pg_partman_bgw," \
           "pg_prewarm,pg_squeeze,pg_stat_statements,pgaudit,pglogical,timescaledb,wal2json"
SERVER_PARAMETERS = {
    "azure.extensions": ("", "Set", _EXTENSIONS, True, "Specifies which extensions are allowed to be created "
                         "in the server."),
    "require_secure_transport": ("on", "Boolean", "on,off", True, "Whether client connections to the server "
                                 "are required to use some form of secure transport."),
    "ssl_min_protocol_version": ("TLSv1.2", "Enumeration", "TLSv1,TLSv1.1,TLSv1.2,TLSv1.3", True,
                                 "Sets the minimum SSL/TLS protocol version to use."),
    "shared_preload_libraries": ("pg_cron,pg_stat_statements", "Set", _PRELOAD, False,
                                 "Sets which shared libraries are preloaded at server start."),
    "max_connections": ("50", "Integer", "25-5000", False, "Sets the maximum number of concurrent connections."),
    "work_mem": ("4096", "Integer", "4096-2097151", True, "Sets the amount of memory to be used by internal sort "
                 "operations and hash tables before writing to temporary disk files."),
    "log_min_duration_statement": ("-1", "Integer", "-1-2147483647", True, "Sets the minimum execution time "
                                   "above which statements will be logged."),
    "log_connections": ("on", "Boolean", "on,off", True, "Logs each successful connection."),
    "log_disconnections": ("off", "Boolean", "on,off", True, "Logs end of a session, including duration."),
    "statement_timeout": ("0", "Integer", "0-2147483647", True, "Sets the maximum allowed duration of any "
                          "statement."),
    "idle_in_transaction_session_timeout": ("0", "Integer", "0-2147483647", True, "Sets the maximum allowed "
                                            "duration of any idling transaction."),
    "password_encryption": ("scram-sha-256", "Enumeration", "md5,scram-sha-256", True, "Chooses the algorithm "
                            "for encrypting passwords."),
    "timezone": ("UTC", "String", "[A-Za-z0-9/+_-]+", True, "Sets the time zone for displaying and interpreting "
                 "time stamps."),
    "pgbouncer.enabled": ("false", "Boolean", "true,false", False, "Denotes if pgBouncer service is enabled."),
}
_PG_TYPES = {"bool": "Boolean", "integer": "Integer", "real": "Numeric", "enum": "Enumeration"}
_RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)\Z")


def _parameter(ctx, name):
    """(default, dataType, allowedValues, dynamic, description) of a server parameter, or None if unknown."""
    known = SERVER_PARAMETERS.get(name.lower())
    if known:
        return known
    row = ctx.postgres.sql("SELECT boot_val, vartype, COALESCE(short_desc, ''), array_to_string(enumvals, ','), "
                           "min_val, max_val, context FROM pg_settings WHERE name = "
                           f"{quote_literal(name.lower())}").strip()
    if not row:
        return None
    default, vartype, description, enumvals, low, high, context = (row.split("|") + [""] * 7)[:7]
    data_type = _PG_TYPES.get(vartype, "String")
    allowed = {"Boolean": "on,off", "Enumeration": enumvals}.get(data_type) or \
        (f"{low}-{high}" if data_type in ("Integer", "Numeric") and low and high else "")
    return default or "", data_type, allowed, context not in ("postmaster", "internal"), description


def _parameter_body(server_id, name, spec, value=None, source="system-default"):
    default, data_type, allowed, dynamic, description = spec
    return {"id": f"{server_id}/configurations/{name}", "name": name,
            "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
            "properties": {"value": default if value is None else value, "description": description,
                           "defaultValue": default, "dataType": data_type, "allowedValues": allowed,
                           "source": source, "isDynamicConfig": dynamic, "isReadOnly": False,
                           "isConfigPendingRestart": False, "unit": "", "documentationLink": ""}}


def seed_parameters(ctx, server_record):
    """Give a server its parameters with their defaults (those it does not have yet)."""
    server_id = server_record["body"]["id"]
    for name, spec in SERVER_PARAMETERS.items():
        resource_id = f"{server_id}/configurations/{name}"
        if not ctx.store.get_resource(resource_id):
            ctx.store.put_resource(resource_id, {"body": _parameter_body(server_id, name, spec), "private": {}})


def _check_value(name, value, spec):
    _default, data_type, allowed, _dynamic, _description = spec

    def refuse(why):
        raise HttpError(400, "InvalidParameterValue", f"The value '{value}' for configuration '{name}' is not "
                        f"valid: {why}")
    if not isinstance(value, str):
        refuse("a string is expected.")
    if data_type == "Boolean":
        if value.strip().lower() not in {v.lower() for v in allowed.split(",")}:
            refuse(f"allowed values are '{allowed}'.")
    elif data_type == "Enumeration":
        if allowed and value.strip().lower() not in {v.lower() for v in allowed.split(",")}:
            refuse(f"allowed values are '{allowed}'.")
    elif data_type == "Set":
        permitted = {v.lower() for v in allowed.split(",")}
        wrong = [part.strip() for part in value.split(",") if part.strip() and part.strip().lower() not in permitted]
        if wrong:
            refuse(f"'{', '.join(wrong)}' not among the allowed values '{allowed}'.")
    elif data_type in ("Integer", "Numeric"):
        try:
            number = int(value) if data_type == "Integer" else float(value)
        except ValueError:
            refuse(f"an {data_type.lower()} is expected.")
        found = _RANGE.match(allowed or "")
        if found and not float(found.group(1)) <= number <= float(found.group(2)):
            refuse(f"the allowed range is {allowed}.")


class Configuration(Behaviour):
    def prepare(self, ctx, record, previous):
        name = record["body"]["name"]
        spec = _parameter(ctx, name)
        if spec is None:
            raise HttpError(400, "ConfigurationNotExists", f"The configuration '{name}' does not exist for "
                            f"PostgreSQL server version {ctx.postgres_version}.")
        props = record["body"].setdefault("properties", {})
        requested_source = (props.get("source") or "user-override").lower()
        value = props.get("value")
        if value is None or requested_source == "system-default":
            value, source = (spec[0] if value is None else value), "system-default"
        else:
            source = "user-override"
        _check_value(name, value, spec)
        server_id = record["body"]["id"].rsplit("/", 2)[0]
        body = _parameter_body(server_id, name if name.lower() not in SERVER_PARAMETERS else name.lower(), spec,
                               value, source)
        props.clear()
        props.update(body["properties"])
