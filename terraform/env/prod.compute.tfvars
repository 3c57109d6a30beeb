# Functions reach the RDS Proxy inside the VPC: pass lambda_subnet_ids and lambda_security_group_ids
# with the network var file. database_url and the ARNs come from the persistence layer's outputs.
database_tls = "require"
