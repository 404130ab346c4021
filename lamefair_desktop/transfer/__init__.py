"""Moving bytes: the durable upload queue, the upload and download engines (no Qt)."""
