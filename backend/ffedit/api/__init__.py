"""The FastAPI app: `create_app(settings)`, routers per resource, schemas, JSON errors."""
