# The network (seed 004 §2.1): a VPC with private subnets in two availability zones and no route to the
# internet. The functions reach the database through the RDS Proxy inside it, and AWS services through VPC
# endpoints (SQS, Secrets Manager and EventBridge as interface endpoints; DynamoDB and S3 as gateway
# endpoints), so no NAT gateway is needed or paid for. The ERP is reached over the distributor's private link,
# attached to this VPC outside this layer.

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:The VPC has no internet route and carries only Lambda-to-proxy, Lambda-to-endpoint and ERP-link traffic, all logged at the application; flow logs would add a log group, a role and per-GB cost.
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "niaga-${var.env}" }
}

# Nothing may use the default security group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "private" {
  count = length(var.availability_zones)

  vpc_id            = aws_vpc.this.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  tags              = { Name = "niaga-${var.env}-private-${var.availability_zones[count.index]}" }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "niaga-${var.env}-private" }
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_security_group" "lambda" {
  name        = "niaga-${var.env}-lambda"
  description = "Niaga functions: out to the database, the VPC endpoints and the ERP link only."
  vpc_id      = aws_vpc.this.id

  egress {
    description = "HTTPS to the VPC endpoints and the ERP link inside the VPC range"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  egress {
    description = "HTTPS to the S3 and DynamoDB gateway endpoints"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    prefix_list_ids = [
      aws_vpc_endpoint.gateway["s3"].prefix_list_id,
      aws_vpc_endpoint.gateway["dynamodb"].prefix_list_id,
    ]
  }
  egress {
    description = "PostgreSQL to the RDS Proxy"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_security_group" "database" {
  #checkov:skip=CKV2_AWS_5:Attached in the persistence layer (the RDS instances and the RDS Proxy), which checkov cannot see from this layer.
  name        = "niaga-${var.env}-database"
  description = "RDS PostgreSQL and RDS Proxy: PostgreSQL from the functions (and the proxy) only."
  vpc_id      = aws_vpc.this.id

  ingress {
    description     = "PostgreSQL from the functions"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.lambda.id]
  }
  ingress {
    description = "PostgreSQL from the proxy to the instances"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    self        = true
  }
  egress {
    description = "PostgreSQL from the proxy to the instances"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    self        = true
  }
  egress {
    description = "HTTPS to the Secrets Manager endpoint (the proxy reads the database secret)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_security_group" "endpoints" {
  name        = "niaga-${var.env}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC."
  vpc_id      = aws_vpc.this.id

  ingress {
    description = "HTTPS from the functions and the proxy"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoints)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
  tags                = { Name = "niaga-${var.env}-${each.value}" }
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = toset(["dynamodb", "s3"])

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.region}.${each.value}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
  tags              = { Name = "niaga-${var.env}-${each.value}" }
}
