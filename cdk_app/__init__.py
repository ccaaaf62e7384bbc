"""Tooling around the Velib' forecaster: configuration, training, packaging, serving, CLI."""
