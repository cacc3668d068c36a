"""Tariff model, city configuration, calendar maths, reference pricing and Numba kernels."""
