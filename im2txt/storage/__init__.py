"""Models on disk: checkpoints, bundles, conversion, discovery, locations and downloads."""
