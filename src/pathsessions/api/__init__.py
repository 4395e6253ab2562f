"""The API versions served, each a façade over the core (`api.v1`), and what they share:
the handlers' context, the OpenAPI builder, and the service routes."""
