# Production, shared by every layer.
env    = "prod"
region = "ap-southeast-3"
