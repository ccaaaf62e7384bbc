"""The offline deploy rehearsal: a patched moto server on loopback, and the CDK CLI steps checked against it.

Not imported by `cdk synth`.
"""
