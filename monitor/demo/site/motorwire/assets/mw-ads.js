// Demo stub: no ads are loaded.
