// Demo stub: comments embed is not loaded.
