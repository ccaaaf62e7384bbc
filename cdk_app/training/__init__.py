"""Training the reference model: the station simulator, the trainer and the scikit-learn scaler converter.

Not imported by `cdk synth`: it needs torch, numpy and scikit-learn.
"""
