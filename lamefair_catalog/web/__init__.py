"""The HTTP face of the catalog: the FastAPI app, its thin routes, sign-in, errors as JSON, health."""
