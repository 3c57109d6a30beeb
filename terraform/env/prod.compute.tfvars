# Functions reach the RDS Proxy inside the VPC: pass lambda_subnet_ids and lambda_security_group_ids
# with the network var file. database_url and the ARNs come from the persistence layer's outputs.
# The writer is the RDS Proxy (ACM certificate, Amazon Root CA 1); reads go to the replica's own endpoint
# (RDS CA, ca_cert_identifier in terraform/persistence). Both verified verify-full.
database_tls       = "verify-full"
database_ca        = "rds-proxy"
database_reader_ca = "rds"
