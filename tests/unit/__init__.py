"""Unit tier: no server and no CDK app; the handlers, the model, the tooling's own logic."""
