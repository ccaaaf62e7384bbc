"""Synth tier: synthesized templates, cdk-nag and the template linters."""
