"""The app-facing data layer: the read-only serving snapshot the workspace reads, and the side store of what
its users do (acknowledgments, notes, logins), ingested back into the warehouse."""
