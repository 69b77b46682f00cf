"""Running the network: reception days, topic visits, posters, opinions, standards.

Each module owns one mechanism; they share the working-day calendar of
:mod:`geoplan.operations.workdays`.
"""
