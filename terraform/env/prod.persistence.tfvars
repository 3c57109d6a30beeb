# Production data is protected (deletion protection, final snapshot) by the variable defaults.
# The network ids and the first secret values are not kept in git: pass them at apply time, e.g.
#   terraform/tf prod persistence apply -var-file=$PWD/prod.network.tfvars  (vpc_id, database_subnet_ids,
#   database_security_group_ids), with TF_VAR_secret_values exported from the team's secret store.
create_database = true
# Sized by terraform/CAPACITY.md: seed 002's peak fits one writer with a read replica for the catalogue.
database_instance_class       = "db.r6g.large"
database_allocated_storage_gb = 200
