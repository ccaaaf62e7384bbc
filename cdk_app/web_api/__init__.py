"""The web API (FastAPI) in front of the endpoint: forecasts, stations, a cache and a rate limit, local or in Redis.

Not imported by `cdk synth`. `create_app()` gives the whole app; `router` mounts the routes in a user's own app.
"""
