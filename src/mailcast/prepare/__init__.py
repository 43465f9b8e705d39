"""Preparation: compute the target, apply filtering and control rules, render every recipient."""
