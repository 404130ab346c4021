"""Object storage: the one gateway between the catalog and S3 (nothing else talks to S3)."""
