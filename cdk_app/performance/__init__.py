"""What the endpoint costs in time and money: `bench` measures latency, `cost` turns it into a monthly bill.

Not imported by `cdk synth`.
"""
