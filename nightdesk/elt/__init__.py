"""The ELT stage: each source's rows into its raw table (load), the GX gates (quality),
the SQL models (transform), and what each ELT DAG task does (pipeline)."""
