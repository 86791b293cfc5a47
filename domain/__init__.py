"""Pure rules of the dossier tracker: no I/O, safe to import inside workflows."""
