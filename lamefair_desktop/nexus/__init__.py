"""Vendor TIFF metadata -> instrument mappings -> NeXus/NXem files, and preview data access. No Qt."""
