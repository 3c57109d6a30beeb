# The local stack, shared by every layer. terraform/tf adds aws_endpoint from AWS_ENDPOINT_URL
# (default http://127.0.0.1:5000).
env    = "local"
region = "us-east-1"
