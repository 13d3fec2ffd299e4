"""Stream processing: the pure core (``streams.core``) and the faust wiring around it."""
