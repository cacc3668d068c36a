"""Settings and security of the API."""
