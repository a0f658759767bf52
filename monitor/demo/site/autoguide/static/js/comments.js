// Demo stub: comments are not loaded.
