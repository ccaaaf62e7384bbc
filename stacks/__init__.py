"""CDK stacks for the Velib' serverless endpoint."""
