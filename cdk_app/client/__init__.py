"""Calling an endpoint, local or in AWS: ForecastClient, the example requests and the post-deploy smoke test.

Not imported by `cdk synth`.
"""
