"""FastAPI enforcement API: checks for wardens and inspectors, ingestion, auth and audit."""
