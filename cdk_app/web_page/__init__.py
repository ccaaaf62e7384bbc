"""The predictions page (Streamlit): a thin page over plain functions that fetch from the web API.

Not imported by `cdk synth`. `python -m cdk_app ui` runs `page.py` with Streamlit.
"""
