"""Where a feature's PostgreSQL is: Orthanc's own index database, or an explicit Database section."""

from .errors import ConfigError


def postgres_dsn_params(orthanc_config, override=None, path="PostgreSQL"):
    """Connection parameters of Orthanc's own index database (its "PostgreSQL" section), or of an
    explicit override with the same keys. Returns the parameters of medimaging_plugin.database.Database."""
    section = override if override is not None else orthanc_config.get("PostgreSQL")
    if not isinstance(section, dict) or not (section.get("Host") or section.get("ConnectionUri")):
        raise ConfigError(path, "no PostgreSQL connection: the queue lives in Orthanc's PostgreSQL index database",
                          "load the PostgreSQL index plugin with a \"PostgreSQL\" section (Host, Database, "
                          "Username, Password), or set Database in this section")
    if section.get("ConnectionUri"):
        return {"conninfo": section["ConnectionUri"]}
    params = {"host": section["Host"], "port": int(section.get("Port", 5432)),
              "dbname": section.get("Database", "orthanc"), "user": section.get("Username", "orthanc"),
              "password": section.get("Password", ""), "application_name": "medimaging-plugin"}
    if section.get("EnableSsl"):
        params["sslmode"] = "require"
    return params
