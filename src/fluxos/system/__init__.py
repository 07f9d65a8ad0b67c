"""Node-level concerns: log files, host and process information, configuration changes."""
