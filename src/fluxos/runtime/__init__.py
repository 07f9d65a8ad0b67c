"""The apps runtime: apps run on this node's Docker engine.

* `engine.DockerEngine` - the typed Docker adapter (docker-py in worker threads)
"""
