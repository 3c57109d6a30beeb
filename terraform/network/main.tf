# The network: a VPC over two (or more) availability zones with three tiers of subnets.
#
# - `private`: the database, the RDS Proxy and the interface VPC endpoints. No route leaves the VPC.
# - `functions`: every Lambda function. AWS services are reached through VPC endpoints (SQS, Secrets Manager and
#   EventBridge as interface endpoints with private DNS; DynamoDB and S3 as gateway endpoints on these route
#   tables), so AWS calls never cross the NAT gateway. Everything else (0.0.0.0/0) routes to a NAT gateway, which
#   only the functions niaga.json marks with `egress` (the ERP, the payment gateway's status API, the agents'
#   webhooks) may use: their extra security group is the only one that lets HTTPS leave the VPC.
# - `public`: the NAT gateway(s) and nothing else, routed to the internet gateway.
#
# A VPC-attached function gets no public address, so internet access needs exactly this private-subnet-to-NAT
# path (AWS Lambda, "Enable internet access for VPC-connected Lambda functions").

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:Only the functions marked with egress may leave the VPC (HTTPS through the NAT gateway), and every outside call is logged by the function making it; flow logs would add a log group, a role and per-GB cost.
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
  description = "Niaga functions: out to the database and the VPC endpoints only."
  vpc_id      = aws_vpc.this.id

  egress {
    description = "HTTPS to the interface VPC endpoints inside the VPC range"
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
  route_table_ids   = concat([aws_route_table.private.id], aws_route_table.functions[*].id)
  tags              = { Name = "niaga-${var.env}-${each.value}" }
}

# --- the functions' subnets and their way out ----------------------------------------------------------------

locals {
  nat_gateway_count = var.nat_gateway_per_zone ? length(var.availability_zones) : 1
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "niaga-${var.env}" }
}

# Holds the NAT gateways only: nothing else is launched here, and nothing gets a public address.
resource "aws_subnet" "public" {
  count = length(var.availability_zones)

  vpc_id                  = aws_vpc.this.id
  availability_zone       = var.availability_zones[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, 240 + count.index)
  map_public_ip_on_launch = false
  tags                    = { Name = "niaga-${var.env}-public-${var.availability_zones[count.index]}" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "niaga-${var.env}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  #checkov:skip=CKV2_AWS_19:The address belongs to the NAT gateway (aws_nat_gateway.this), not to an instance; the ERP and webhook receivers may allow-list it.
  count = local.nat_gateway_count

  domain = "vpc"
  tags   = { Name = "niaga-${var.env}-nat-${count.index}" }
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = { Name = "niaga-${var.env}-nat-${count.index}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_subnet" "functions" {
  count = length(var.availability_zones)

  vpc_id            = aws_vpc.this.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, 8 + count.index)
  tags              = { Name = "niaga-${var.env}-functions-${var.availability_zones[count.index]}" }
}

# One per zone, so a zone's functions use that zone's NAT gateway when there is one per zone.
resource "aws_route_table" "functions" {
  count = length(var.availability_zones)

  vpc_id = aws_vpc.this.id
  tags   = { Name = "niaga-${var.env}-functions-${var.availability_zones[count.index]}" }
}

resource "aws_route" "functions_nat" {
  count = length(aws_route_table.functions)

  route_table_id         = aws_route_table.functions[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, local.nat_gateway_count - 1)].id
}

resource "aws_route_table_association" "functions" {
  count = length(aws_subnet.functions)

  subnet_id      = aws_subnet.functions[count.index].id
  route_table_id = aws_route_table.functions[count.index].id
}

# Added to the functions marked with `egress` in niaga.json, beside aws_security_group.lambda.
resource "aws_security_group" "lambda_egress" {
  #checkov:skip=CKV2_AWS_5:Attached in the compute layer to the functions with `egress` in niaga.json, which checkov cannot see from this layer.
  #checkov:skip=CKV_AWS_382:Egress is HTTPS only, to the outside services these functions call (the ERP, the payment gateway, partners' webhook receivers), whose addresses are not fixed.
  name        = "niaga-${var.env}-lambda-egress"
  description = "Niaga functions that call outside AWS: HTTPS out through the NAT gateway."
  vpc_id      = aws_vpc.this.id

  egress {
    description = "HTTPS to the ERP, the payment gateway and webhook receivers, through the NAT gateway"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
