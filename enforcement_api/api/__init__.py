"""The HTTP layer: routes per audience, dependencies and the bodies they exchange."""
