"""`im2txt serve`: captioning over HTTP, IBM MAX's API and a native one, on uvicorn or Ray Serve.

settings.py  ServeSettings: what the operator sets (a value type; imports nothing above it)
service.py   CaptionService: the model, the shared WorkQueue, readiness, MAX's metadata
api.py       create_app: the FastAPI application over one CaptionService
ray_app.py   the same application as a Ray Serve deployment, with replicas
"""
