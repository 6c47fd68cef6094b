"""What every stage shares: URIs, digests, logging, the stage context, reporting, the runner."""
