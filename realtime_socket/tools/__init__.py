"""Developer tools: the ``realtime-socket`` CLI, ``plan``, ``cost`` and the offline recorder."""
