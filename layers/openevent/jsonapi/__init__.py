"""The JSON:API 1.0 layer: request parsing and validation, documents, collection queries."""
