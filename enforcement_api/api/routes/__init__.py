"""Routes per audience: plates (wardens), transit (inspectors), events (ingest), health."""
