"""Event contract, the pure rules of each system, and the Faust workers that run them."""
