"""Benchmark: the product's full path against stock Rasa serving the same trained model.

`make bench` (or `python -m bench`) starts each stack in turn on loopback ports, drives it with
closed-loop users, stops it, and writes JSON and a PNG plot to results/bench/. The figures and
the targets they are compared with are in docs/performance.md.
"""
