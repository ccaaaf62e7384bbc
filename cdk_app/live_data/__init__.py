"""Live Vélib' data: the GBFS reader, the collector and its history, the hourly city forecast, live accuracy, A/B.

`cdk synth` does not import this package; it copies it, with `cdk_app/__init__.py`, into the collector
function's asset. So these modules import nothing outside the standard library, boto3 and urllib3 (both
in the Lambda Python runtime), and the vendored `tzdata` the asset carries; the A/B comparison's bootstrap
(comparison.py) imports numpy and scipy when it runs, which the collector never does.
"""
