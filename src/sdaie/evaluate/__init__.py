"""Evaluation: score held-out photos and generated sets under perturbations, compute metrics, report."""
