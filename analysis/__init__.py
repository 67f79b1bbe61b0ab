"""Analyses built on the trajectories package: paper reproduction, counting statistics, studies."""
