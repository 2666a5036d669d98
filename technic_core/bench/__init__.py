"""Measurement: the phase ladder (``technic bench``) and the regression gate (``technic gate``)."""
