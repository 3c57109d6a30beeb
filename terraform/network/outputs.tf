output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

# Exactly the persistence and compute layers' input variables of the same names; terraform/tf passes them as
# var files when this layer has been applied for the environment.
output "persistence_inputs" {
  description = "The values the persistence layer takes from this layer."
  value = {
    vpc_id                      = aws_vpc.this.id
    database_subnet_ids         = aws_subnet.private[*].id
    database_security_group_ids = [aws_security_group.database.id]
  }
}

output "compute_inputs" {
  description = "The values the compute layer takes from this layer."
  value = {
    lambda_subnet_ids                = aws_subnet.functions[*].id
    lambda_security_group_ids        = [aws_security_group.lambda.id]
    lambda_egress_security_group_ids = [aws_security_group.lambda_egress.id]
  }
}
