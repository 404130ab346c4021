"""Request and response bodies of the catalog API (pydantic), by resource; OpenAPI is built from them."""
