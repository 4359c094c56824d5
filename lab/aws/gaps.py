"""Where moto 5.2 answers differently from AWS, patched before the lab's server starts (each gap: what AWS does).

- RDS DescribeDBParameterGroups with a name that does not exist: AWS answers DBParameterGroupNotFound, moto an empty
  list (amazon.aws.rds_instance_param_group then fails with 'list index out of range' on its first run).
"""
from moto.rds import exceptions as rds_exceptions
from moto.rds import models as rds_models


def _describe_db_parameter_groups(original):
    def describe(self, db_parameter_group_kwargs):
        name = db_parameter_group_kwargs.get("db_parameter_group_name")
        if name and name not in self.db_parameter_groups:
            raise rds_exceptions.DBParameterGroupNotFoundError(name)
        return original(self, db_parameter_group_kwargs)
    return describe


def apply():
    backend = rds_models.RDSBackend
    backend.describe_db_parameter_groups = _describe_db_parameter_groups(backend.describe_db_parameter_groups)
