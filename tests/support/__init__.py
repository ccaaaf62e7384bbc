"""Helpers the test tiers share: fixture files, synthesized apps, the handler driver, the local endpoint's owner."""
