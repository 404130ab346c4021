"""Export for publication: a measurement, an experiment or a proposal as an RO-Crate in the ELN
consortium's `.eln` zip profile (no Qt; the CLI and the window's worker call `job.export_crate`)."""
