"""PynamoDB models. Each module holds one area's tables; `registry` lists them all."""
