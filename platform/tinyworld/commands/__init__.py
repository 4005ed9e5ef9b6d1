"""One module per noun of the ``tinyworld`` command line; ``tinyworld.cli`` mounts them."""
