"""The local endpoint: the DLC's own model server (TorchServe) on loopback and a SageMaker Runtime API front.

Not imported by `cdk synth`.
"""
