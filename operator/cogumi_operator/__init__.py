"""The Cogumi operator: reconcile engine, stage plans, Kubernetes builders, CLI and dev cluster."""
