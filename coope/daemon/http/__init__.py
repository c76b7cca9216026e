"""The REST transport: thin handlers that parse, call a service and serialise."""
