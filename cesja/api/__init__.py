"""The HTTP API of CONTRACT.md: thin routes over the application's services."""
