"""The lab primitives start a real Orthanc indexed in a real PostgreSQL, reachable only with credentials."""
from lab.dicom_factory import make_instance


def test_orthanc_indexes_in_postgres(orthanc_factory, pg_database, postgres_cluster):
    config = {
        "AuthenticationEnabled": True,
        "RegisteredUsers": {"tester": "s3cret-pass"},
        "PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "Host": pg_database["host"],
                       "Port": pg_database["port"], "Database": pg_database["database"],
                       "Username": pg_database["user"], "Password": pg_database["password"], "Lock": False},
    }
    orthanc = orthanc_factory(config=config, plugins=["PostgreSQLIndex"], auth=("tester", "s3cret-pass"))
    assert orthanc.request("GET", "/system", auth=None).status_code == 401
    stored = orthanc.upload(make_instance(patient_id="PGTEST"))
    assert stored["Status"] == "Success"
    # The instance is in PostgreSQL's index, not SQLite's.
    count = postgres_cluster.sql("SELECT count(*) FROM resources WHERE resourcetype = 3", pg_database["database"])
    assert int(count) == 1
