"""One router module per section of the API document."""
