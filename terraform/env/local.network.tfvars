# The emulator's region (env/local.tfvars) has its own availability zones.
availability_zones = ["us-east-1a", "us-east-1b"]
