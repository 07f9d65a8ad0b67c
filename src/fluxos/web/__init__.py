"""The home port (API port − 1): what other nodes and browsers find beside the API."""
