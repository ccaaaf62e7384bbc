"""Calling an endpoint, local or in AWS: ForecastClient, the example requests and the post-deploy smoke test.

Only example_requests is imported by `cdk synth`: the keep-warm pings send the guide request.
"""
