"""One module per stage; :mod:`cogumi_workloads.registry` maps stage ids to them."""
