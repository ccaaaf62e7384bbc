"""What `cdk synth` imports: the deployment config, the model-archive builder and the DLC image table.

Imported by synth, so it stays light: no torch, numpy, boto3 or toolkit, only the standard library
and model_code/forecast_contract.py.
"""
